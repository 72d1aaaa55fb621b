//! Hostile input (issue 14): every reproducer of the probe as a regression test. Each one
//! runs under a hang guard ([`DEADLINE`]: a hang fails the test instead of stalling the
//! suite) and expects a clear error naming the input (file, key) or a correct result.

use crate::common::*;
use cliper::capture::replay::{ReplayFormat, ReplaySource};
use cliper::capture::{CaptureError, CapturedFrame, FrameSource};
use cliper::config::Config;
use cliper::decode::{decode_bytes, decode_file, files::expand_inputs};
use cliper::detect::{BlazeFaceDetector, FaceDetector};
use cliper::model::manifest::ModelFiles;
use cliper::model::DescriptorSet;
use cliper::testutil::DEADLINE;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Instant;

/// Run `f` on its own thread and wait for it at most [`DEADLINE`].
fn guarded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: no answer within {DEADLINE:?} (a hang)"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// The shipped full-range detector manifest with `from` replaced by `to`, its ONNX named by
/// absolute path, written to `dir/d.toml`.
fn detector_manifest(dir: &Path, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("models/blazeface_full_range.toml")).expect("manifest");
    assert!(text.contains(from), "{from}");
    let onnx = root().join("models/blazeface_full_range.onnx");
    let text = text.replace(from, to).replace("file = \"blazeface_full_range.onnx\"", &format!("file = {:?}", onnx.display().to_string()));
    let path = dir.join("d.toml");
    std::fs::write(&path, text).expect("write manifest");
    path
}

#[test]
fn detector_manifest_values_out_of_range_are_refused_naming_file_and_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (from, to, needle) in [
        ("nms_iou = 0.3", "nms_iou = nan", "detector.nms_iou must be within 0..=1, got NaN"),
        ("nms_iou = 0.3", "nms_iou = inf", "detector.nms_iou must be within 0..=1, got inf"),
        ("anchor_offset = 0.5", "anchor_offset = nan", "detector.anchor_offset must be within 0..=1, got NaN"),
        ("anchor_offset = 0.5", "anchor_offset = -inf", "detector.anchor_offset must be within 0..=1, got -inf"),
        ("score_clip = 100.0", "score_clip = -1", "detector.score_clip must be positive, got -1"),
        ("score_clip = 100.0", "score_clip = nan", "detector.score_clip must be positive, got NaN"),
        ("input_width = 192", "input_width = 7", "input size 7x192 out of range"),
    ] {
        let path = detector_manifest(tmp.path(), from, to);
        let e = guarded(to, move || ModelFiles::load(&path).err().map(|e| e.to_string())).unwrap_or_else(|| panic!("{to} accepted"));
        assert!(e.starts_with(&format!("{}: ", tmp.path().join("d.toml").display())) && e.contains(needle), "{to}: {e}");
    }
}

#[test]
fn nms_iou_of_one_ends_with_faces() {
    // Weighted NMS never removed the best box when its self-overlap (1) was not above the
    // threshold: the loop never ended and grew ~210 MB/s.
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = detector_manifest(tmp.path(), "nms_iou = 0.3", "nms_iou = 1.0");
    let faces = guarded("nms_iou = 1.0", move || {
        let mut d = BlazeFaceDetector::load(&ModelFiles::load(&path).expect("an IoU of 1 is in range")).expect("load");
        d.detect(&decode(&root().join("samples/sample1.jpg"))).expect("detect")
    });
    assert!(!faces.is_empty());
}

#[test]
fn a_manifest_whose_input_size_disagrees_with_its_onnx_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = detector_manifest(tmp.path(), "input_height = 192", "input_height = 128");
    let e = guarded("input mismatch", move || {
        let files = ModelFiles::load(&path).expect("the manifest alone is consistent");
        BlazeFaceDetector::load(&files).err().map(|e| e.to_string())
    })
    .expect("refused");
    assert!(e.contains("blazeface_full_range.onnx: the ONNX input is 1x3x192x192, but the manifest's"), "{e}");
}

fn config_error(text: &str) -> String {
    match Config::parse(text, Path::new("c.toml")) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn config_values_that_overflowed_or_meant_nothing_are_refused_naming_the_key() {
    let images = "[source]\ntype = \"images\"\npath = \"samples\"\n";
    for (text, key) in [
        (format!("{images}fps = 1e-19"), "source.fps must be within 0.001..=1000"),
        (format!("{images}fps = 1e-300"), "source.fps must be within"),
        (format!("{images}fps = 1e300"), "source.fps must be within"),
        ("[source]\ntype = \"replay\"\npath = \"x.mjpeg\"\nfps = nan".into(), "source.fps must be within"),
        ("[pipeline]\nstats_interval_s = inf".into(), "pipeline.stats_interval_s must be within 0..=86400, got inf"),
        ("[pipeline]\nevent_queue = 9223372036854775807".into(), "pipeline.event_queue must be within 1..=65536"),
        ("[pipeline]\nevent_queue = 1000000000".into(), "pipeline.event_queue must be within 1..=65536"),
        ("[pipeline]\noutput_queue = 10000000".into(), "pipeline.output_queue must be within 1..=65536"),
        ("[pipeline]\noutput_queue = 9223372036854775807".into(), "pipeline.output_queue must be within 1..=65536"),
        ("[align]\nmargin = nan".into(), "align.margin must be within 0..=1, got NaN"),
        ("[align]\nmargin = inf".into(), "align.margin must be within"),
        ("[align]\nmargin = -0.6".into(), "align.margin must be within"),
        ("[align]\nmargin = 1e30".into(), "align.margin must be within"),
        ("[models]\nmin_score = nan".into(), "models.min_score must be within 0..=1, got NaN"),
        ("[models]\nmin_score = -1".into(), "models.min_score must be within 0..=1, got -1"),
        ("[models]\ndetector = \"\"".into(), "models.detector must name an embedded model or a file"),
        ("[source]\ntype = \"images\"\npath = \"\"".into(), "source.path must name a file or directory, got an empty path"),
        ("[source]\ntype = \"replay\"\npath = \"\"".into(), "source.path must name a file or directory"),
        ("[tracking]\nmax_center_distance = nan".into(), "tracking.max_center_distance must be within"),
        ("[smoothing]\nswitch_margin = nan".into(), "smoothing.switch_margin must be within 0..=1, got NaN"),
        ("[smoothing]\nswitch_margin = inf".into(), "smoothing.switch_margin must be within"),
    ] {
        let e = config_error(&text);
        assert!(e.starts_with("c.toml: ") && e.contains(key), "{text}: {e}");
    }
    let gpio = "[[outputs]]\ntype = \"gpio\"\nbackend = \"rppal\"\n[[outputs.pins]]\nline = 17\nexpression = \"happy\"\n";
    if cfg!(feature = "rppal") {
        Config::parse(gpio, Path::new("c.toml")).expect("rppal build");
    } else {
        assert!(config_error(gpio).contains("c.toml: outputs[0].backend is \"rppal\", but this cliper was built without"));
    }
}

#[test]
fn descriptor_sets_that_gave_nan_scores_are_refused() {
    let set = cliper::testutil::toy_descriptor_set(r#"{"type": "cosine", "scale": 100}"#);
    for (from, to, needle) in [
        ("[0.0, 2.0]", "[0.0, 3e38]", "descriptor a2 of class a has a value that is not a finite number within ±1000000"),
        ("[1.0, 0.0]", "[1e-30, 0.0]", "descriptor a1 of class a has norm"),
    ] {
        assert!(set.contains(from));
        let e = DescriptorSet::parse(&set.replace(from, to), Path::new("s.json")).expect_err(to).to_string();
        assert!(e.starts_with("s.json: ") && e.contains(needle), "{e}");
    }
}

/// Panics on its first frame.
struct PanickingSource;

impl FrameSource for PanickingSource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        panic!("capture thread panic (test)")
    }
    fn name(&self) -> &str {
        "panicking"
    }
}

#[test]
fn a_panic_in_the_capture_thread_ends_the_run_with_an_error() {
    let result = guarded("capture panic", || {
        let cfg = Config::parse("", Path::new("c.toml")).expect("defaults").live(192, 0.3);
        let sink = cliper::testutil::Collect::default();
        let mut detector = cliper::testutil::CentreFace;
        let mut classifier = cliper::testutil::BrightnessClassifier::new();
        let shutdown = cliper::shutdown::Shutdown::new();
        cliper::pipeline::live::run(Box::new(PanickingSource), &mut detector, &mut classifier, sink.sink(), &cfg, &shutdown)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    assert_eq!(result, Err("a pipeline thread panicked".to_owned()));
}

#[cfg(unix)]
#[test]
fn symlink_loops_fifos_and_devices_cost_one_error_each() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path().join("in");
    std::fs::create_dir(&d).expect("mkdir");
    std::fs::copy(root().join("samples/sample1.jpg"), d.join("a.jpg")).expect("copy");
    // Two links back up (`ls -R` would be exponential), both to the temporary directory.
    std::fs::create_dir(d.join("sub")).expect("mkdir");
    std::os::unix::fs::symlink("..", d.join("loop")).expect("symlink");
    std::os::unix::fs::symlink("../..", d.join("sub/up")).expect("symlink");
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.jpg")).expect("symlink");
    let fifo = d.join("x.jpg");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let dir = d.clone();
    let listed: Vec<PathBuf> = guarded("walk", move || expand_inputs(&[dir]).into_iter().collect::<Result<_, _>>().expect("listed"));
    assert_eq!(listed, [d.join("a.jpg"), d.join("x.jpg"), d.join("zero.jpg")]);
    for path in [fifo, d.join("zero.jpg")] {
        let shown = path.display().to_string();
        let e = guarded(&shown, move || decode_file(&path).err().map(|e| e.to_string())).expect("refused");
        assert_eq!(e, format!("{shown}: not a regular file"));
    }
}

#[test]
fn an_images_source_where_every_file_is_bad_ends_instead_of_spinning() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let frames = tmp.path().join("frames");
    std::fs::create_dir(&frames).expect("mkdir");
    for name in ["a.jpg", "b.png"] {
        std::fs::write(frames.join(name), b"not an image").expect("write");
    }
    let config = tmp.path().join("c.toml");
    std::fs::write(&config, format!("[source]\ntype = \"images\"\npath = {:?}\nrepeat = true\nfps = 1000\n", frames.display().to_string()))
        .expect("config");
    let mut child = cliper_command()
        .args(["run", "--config", config.to_str().expect("utf8")])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn cliper");
    let until = Instant::now() + DEADLINE;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!("cliper run still spinning after {DEADLINE:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::SOURCE), "{stderr}");
    assert!(stderr.contains("none of its 2 images could be decoded"), "{stderr}");
}

#[test]
fn a_replayed_frame_without_end_marker_is_read_in_linear_time() {
    // 48 MB of entropy-coded data after a real frame's headers and no end marker: rescanning
    // the buffer after every 64 KiB read took ~18 GB of scanning (minutes in debug).
    let one = cliper::testutil::capture_fixture("face.mjpg");
    assert_eq!(one[one.len() - 2..], [0xFF, 0xD9]);
    let mut stream = one[..one.len() - 2].to_vec();
    stream.resize(stream.len() + (48 << 20), 0x00);
    let mut file = tempfile::NamedTempFile::new().expect("temp");
    std::io::Write::write_all(&mut file, &stream).expect("write");
    drop(stream);
    let results = guarded("endless frame", move || {
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Mjpeg, 10.0, false).expect("open");
        let mut out = Vec::new();
        while let Some(r) = src.next_frame().map_err(|e| e.to_string()).transpose() {
            out.push(r.map(|f| f.sequence));
            assert!(out.len() < 10, "never ends");
        }
        out
    });
    assert_eq!(results.len(), 1);
    assert!(results[0].as_ref().is_err_and(|e| e.contains("last JPEG frame is truncated")), "{results:?}");
}

#[test]
fn a_jpeg_declaring_16384_squared_with_little_data_is_refused() {
    let mut jpeg = std::fs::read(root().join("samples/sample1.jpg")).expect("sample");
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0] || w == [0xFF, 0xC2]).expect("SOF");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x40, 0x00, 0x40, 0x00]);
    let e = guarded("forged", move || decode_bytes(&jpeg, Path::new("forged.jpg")).err().map(|e| e.to_string())).expect("refused");
    assert!(e.starts_with("forged.jpg: corrupt or truncated image: 16384x16384 JPEG has only"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Mutation runs: the real files (photos, MJPEG recordings, manifests, descriptor sets, the
// example config) mutated with a fixed seed and fed through the parsers and decoders. A
// panic, a hang (the guard) or a NaN result fails the test. Deterministic, so a failure
// reproduces; the iteration counts keep the whole module within seconds in debug.

/// xorshift64*: a fixed, dependency-free sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random corruption of `bytes`: flipped bytes, a cut, a repeated or removed span, or
/// 0xFF bytes (JPEG marker starts).
fn mutate(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let len = b.len().max(1);
    match rng.below(5) {
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                if let Some(v) = b.get_mut(i) {
                    *v ^= 1 << rng.below(8);
                }
            }
        }
        1 => b.truncate(rng.below(len)),
        2 => {
            let (i, n) = (rng.below(len), rng.below(len / 4 + 1));
            let span: Vec<u8> = b.iter().skip(i).take(n).copied().collect();
            let at = rng.below(b.len());
            b.splice(at..at, span);
        }
        3 => {
            let (i, n) = (rng.below(len), rng.below(64));
            let end = (i + n).min(b.len());
            b.drain(i.min(end)..end);
        }
        _ => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(len);
                if let Some(v) = b.get_mut(i) {
                    *v = 0xFF;
                }
            }
        }
    }
    b
}

/// Values that broke validation before: non-finite, negative, huge, tiny, integer extremes.
const HOSTILE_NUMBERS: &[&str] =
    &["nan", "inf", "-inf", "-1", "0", "1", "-0.6", "7", "1e-300", "1e300", "3e38", "1e-30", "9223372036854775807", "1.0"];

/// `text` with one numeric literal replaced by a hostile value; `None` when it has none.
fn mutate_number(rng: &mut Rng, text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| {
            bytes[i].is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.' || bytes[i - 1] == b'_'))
        })
        .filter(|&i| i == 0 || bytes[i - 1] != b'-')
        .collect();
    let start = *starts.get(rng.below(starts.len()))?;
    let end = (start..bytes.len()).find(|&i| !(bytes[i].is_ascii_digit() || b".eE+-".contains(&bytes[i]))).unwrap_or(bytes.len());
    let value = HOSTILE_NUMBERS[rng.below(HOSTILE_NUMBERS.len())];
    Some(format!("{}{value}{}", &text[..start], &text[end..]))
}

fn small_jpeg() -> Vec<u8> {
    let mut b = Vec::new();
    image::RgbImage::from_fn(48, 40, |x, y| image::Rgb([(x * 5) as u8, (y * 6) as u8, ((x + y) * 3) as u8]))
        .write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Jpeg)
        .expect("jpeg");
    b
}

fn small_png() -> Vec<u8> {
    let mut b = Vec::new();
    image::RgbImage::from_fn(20, 12, |x, y| image::Rgb([(x * 9) as u8, (y * 20) as u8, 7]))
        .write_to(&mut std::io::Cursor::new(&mut b), image::ImageFormat::Png)
        .expect("png");
    b
}

#[test]
fn mutated_images_and_mjpeg_frames_decode_or_fail_cleanly() {
    guarded("image mutations", || {
        let seeds = [small_jpeg(), small_png(), cliper::testutil::capture_fixture("face.mjpg")];
        let mut rng = Rng(0x1405_2026);
        let (mut ok, mut failed) = (0, 0);
        for i in 0..600 {
            let data = mutate(&mut rng, &seeds[i % seeds.len()]);
            match decode_bytes(&data, Path::new("m.jpg")) {
                Ok(f) => {
                    ok += 1;
                    assert!(f.width() <= cliper::decode::MAX_SIDE && f.height() <= cliper::decode::MAX_SIDE);
                }
                Err(e) => {
                    failed += 1;
                    assert!(e.to_string().starts_with("m.jpg: "), "{e}");
                }
            }
            let _ = cliper::decode::jpeg::decode_frame(&data);
        }
        // Both outcomes happen: the mutations are neither all harmless nor all fatal.
        assert!(ok > 0 && failed > 0, "{ok} decoded, {failed} refused");
    });
}

#[test]
fn mutated_recordings_play_to_their_end() {
    guarded("replay mutations", || {
        let seed = std::fs::read(fixture("capture/seq.mjpeg")).expect("seq.mjpeg");
        let mut rng = Rng(0x5EED_0011);
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..60 {
            let mut data = seed.clone();
            for _ in 0..1 + rng.below(3) {
                data = mutate(&mut rng, &data);
            }
            let path = dir.path().join(format!("{i}.mjpeg"));
            std::fs::write(&path, &data).expect("write");
            let mut src = ReplaySource::open(&path, ReplayFormat::Mjpeg, 10.0, false).expect("open");
            let mut calls = 0;
            while !matches!(src.next_frame(), Ok(None)) {
                calls += 1;
                // Each call consumes bytes: a recording cannot yield more results than bytes.
                assert!(calls <= data.len() + 1, "replay {i} does not end");
            }
        }
    });
}

#[test]
fn mutated_manifests_descriptor_sets_and_configs_load_or_name_the_key() {
    guarded("text mutations", || {
        use cliper::detect::blazeface::{decode, ssd_anchors, weighted_nms};
        use cliper::model::manifest::ModelManifest;
        let mut rng = Rng(0xC0FF_EE14);
        let read = |p: &str| std::fs::read_to_string(root().join(p)).expect(p);
        let manifests =
            [read("models/blazeface_full_range.toml"), read("models/blazeface_short_range.toml"), read("models/faceapi_expression.toml")];
        let mut loaded = 0;
        for i in 0..120 {
            let Some(text) = mutate_number(&mut rng, &manifests[i % manifests.len()]) else { continue };
            let Ok(m) = ModelManifest::parse(&text, Path::new("m.toml")) else { continue };
            loaded += 1;
            // Whatever passed validation decodes and suppresses arbitrary outputs in bounded time.
            if let Some(opts) = &m.detector {
                let anchors = ssd_anchors(opts, m.input_width, m.input_height);
                assert!(anchors.len() <= 1 << 22, "{} anchors", anchors.len());
                let stride = 4 + 2 * opts.num_keypoints;
                let raw = |rng: &mut Rng| f32::from_bits(rng.next() as u32);
                let regressors: Vec<f32> = (0..anchors.len().min(4096) * stride).map(|_| raw(&mut rng)).collect();
                let scores: Vec<f32> = (0..anchors.len().min(4096)).map(|_| raw(&mut rng)).collect();
                let dets = decode(&regressors, &scores, &anchors, opts, m.input_width, m.input_height);
                for d in weighted_nms(dets, opts.nms_iou) {
                    assert!(d.score.is_finite() && [d.xmin, d.ymin, d.xmax, d.ymax].iter().all(|v| v.is_finite()), "{d:?}");
                }
            }
        }
        assert!(loaded > 0);

        let set = read("descriptors/faceapi_expression.json");
        for _ in 0..60 {
            let Some(text) = mutate_number(&mut rng, &set) else { continue };
            let Ok(s) = DescriptorSet::parse(&text, Path::new("s.json")) else { continue };
            let folded = cliper::model::Folded::new(&s);
            let embedding: Vec<f32> = (0..s.dim).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
            let (desc, class) = folded.score(&embedding);
            assert!(desc.iter().chain(&class).all(|v| v.is_finite()), "a set that loads scored NaN");
        }

        let example = read("config/cliper.example.toml");
        for _ in 0..120 {
            let Some(text) = mutate_number(&mut rng, &example) else { continue };
            if let Ok(c) = Config::parse(&text, Path::new("c.toml")) {
                // What used to panic after validation: durations, queue sizes, the source's own checks.
                let live = c.live(192, 0.3);
                assert!(live.output_queue <= cliper::schema::MAX_QUEUE);
                let _ = c.pipeline.stats_interval();
            }
        }
    });
}
