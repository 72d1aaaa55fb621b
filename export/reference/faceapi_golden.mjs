// Golden outputs for cliper from the ORIGINAL face-api.js FaceExpressionNet.
//
// Runs @vladmandic/face-api 1.7.15 (dist/face-api.esm-nobundle.js) on pure-JS tfjs 4.22.0 with the
// 'cpu' backend (no tfjs-node, no native bindings). Weights are read from the npm package's
// model/face_expression_model.{bin,-weights_manifest.json} and dequantised by tfjs itself
// (tf.io.decodeWeights), then loaded with net.loadFromWeightMap.
//
// For every PNG in tests/fixtures/faces/ (decoded with pngjs to an int32 RGB tensor3d, as
// tf.node.decodePng / tf.browser.fromPixels would give) it records
//   probs     = faceExpressionNet.predictExpressions(tensor)          (face-api's own preprocessing)
//   embedding = faceExpressionNet.faceFeatureExtractor.forward(tensor) (the 256-d avg-pool output)
// and, for the crops listed in PREPROCESSED, dumps face-api's normalised network input
// (toBatchTensor(112, true) -> cast float32 -> normalize(meanRgb) -> div(255), 1x112x112x3 NHWC)
// as raw little-endian float32.
//
// Usage (from export/reference): npm ci && node faceapi_golden.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { register } from 'node:module';
import { PNG } from 'pngjs';

// tfjs 4.22's ESM dist (dist/index.js, which face-api's esm-nobundle imports) uses extensionless
// relative imports ('./foo') that only bundlers resolve; Node's ESM loader needs './foo.js'. This
// tiny resolve hook retries a failed relative/package-subpath specifier with '.js' / '/index.js'.
// It changes module resolution only, no code. Net effect (checked): the code that runs is
// tfjs-core's and tfjs-backend-cpu's CommonJS builds (dist/tf-core.node.js, dist/tf-backend-cpu.node.js,
// what a bare '@tensorflow/tfjs-core' resolves to in Node), driven by face-api's esm-nobundle build.
const HOOK = `
export async function resolve(specifier, context, next) {
  // face-api imports the backends' ESM entry points, while @tensorflow/tfjs's index.js imports them
  // by bare name (-> their CommonJS 'main'); use one copy so kernels are registered only once
  const m = /^(@tensorflow\\/tfjs-backend-(?:webgl|wasm))\\/dist\\/index\\.js$/.exec(specifier);
  if (m) return next(m[1], context);
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'ERR_UNSUPPORTED_DIR_IMPORT') && !/\\.[cm]?js$/.test(specifier)) {
      for (const suffix of ['.js', '/index.js']) {
        try { return await next(specifier + suffix, context); } catch (e) { /* try next */ }
      }
    }
    throw err;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(HOOK)}`, import.meta.url);
const faceapi = await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js');

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const facesDir = path.join(root, 'tests', 'fixtures', 'faces');
const goldenDir = path.join(root, 'tests', 'fixtures', 'golden');
const pkgDir = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const modelDir = path.join(pkgDir, 'model');

const LABELS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'];
const MEAN_RGB = [122.782, 117.001, 104.298]; // FaceFeatureExtractor.forwardInput
// one crop wider than tall, one taller than wide (both with an odd side difference)
const PREPROCESSED = ['s1_f2.png', 's2_f1.png'];

const { tf } = faceapi;
const pkgVersion = (name) => require(`${name}/package.json`).version;

function decodePng(file) {
  const png = PNG.sync.read(fs.readFileSync(file));
  const { width, height, data } = png; // RGBA, 8 bit after pngjs normalisation
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++) {
    rgb[j++] = data[4 * i];
    rgb[j++] = data[4 * i + 1];
    rgb[j++] = data[4 * i + 2];
  }
  return { width, height, tensor: tf.tensor3d(rgb, [height, width, 3], 'int32') };
}

async function main() {
  await tf.setBackend('cpu');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') throw new Error(`backend is ${tf.getBackend()}`);

  const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'face_expression_model-weights_manifest.json'), 'utf8'));
  const bin = fs.readFileSync(path.join(modelDir, 'face_expression_model.bin'));
  const specs = manifest.flatMap((group) => group.weights);
  const weightMap = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), specs);
  const net = new faceapi.FaceExpressionNet();
  net.loadFromWeightMap(weightMap);

  fs.mkdirSync(goldenDir, { recursive: true });
  const files = fs.readdirSync(facesDir).filter((f) => f.endsWith('.png')).sort();
  const faces = [];
  const preprocessed = [];
  for (const file of files) {
    const { width, height, tensor } = decodePng(path.join(facesDir, file));

    const expr = await net.predictExpressions(tensor);
    const probs = {};
    for (const label of LABELS) probs[label] = expr[label];

    const feat = await net.faceFeatureExtractor.forward(tensor);
    if (feat.shape.join('x') !== '1x1x1x256') throw new Error(`feature shape ${feat.shape}`);
    const embedding = Array.from(feat.dataSync());
    feat.dispose();

    faces.push({ file, width, height, probs, embedding });

    if (PREPROCESSED.includes(file)) {
      // exactly FaceFeatureExtractor.forwardInput's preprocessing, through face-api's own exports
      const netInput = await faceapi.toNetInput(tensor);
      const x = tf.tidy(() => {
        const batch = tf.cast(netInput.toBatchTensor(112, true), 'float32');
        return faceapi.normalize(batch, MEAN_RGB).div(255);
      });
      if (x.shape.join('x') !== '1x112x112x3' || x.dtype !== 'float32') throw new Error(`input ${x.shape} ${x.dtype}`);
      const data = x.dataSync(); // Float32Array, NHWC
      x.dispose();
      const name = `faceapi_input_${file.replace(/\.png$/, '')}.f32`;
      const buf = Buffer.alloc(data.length * 4);
      for (let i = 0; i < data.length; i++) buf.writeFloatLE(data[i], 4 * i);
      fs.writeFileSync(path.join(goldenDir, name), buf);
      preprocessed.push({ file, input: name, shape: [1, 112, 112, 3], layout: 'nhwc', dtype: 'float32le' });
    }
    tensor.dispose();
    const top = LABELS.reduce((a, b) => (probs[a] >= probs[b] ? a : b));
    console.log(`${file} ${width}x${height} top=${top} p=${probs[top].toFixed(4)}`);
  }

  const out = {
    reference: `face-api.js ${pkgVersion('@vladmandic/face-api')}, tfjs-core ${tf.version_core}, `
      + `tfjs-backend-cpu ${pkgVersion('@tensorflow/tfjs-backend-cpu')}, backend ${tf.getBackend()}, node ${process.version}`,
    labels: LABELS,
    faces,
    preprocessed,
  };
  fs.writeFileSync(path.join(goldenDir, 'faceapi_expression.json'), `${JSON.stringify(out, null, 1)}\n`);
  console.log(`wrote ${faces.length} faces, ${preprocessed.length} preprocessed inputs; ${out.reference}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
