//! ONNX Runtime backend (feature `ort`): libonnxruntime is loaded at run time
//! (`load-dynamic`), so a build downloads and links nothing and one binary serves boards with
//! NVIDIA's GPU build of ONNX Runtime (TensorRT, CUDA) and machines with the CPU one.
//!
//! Execution providers are registered in the configured order with ort's error-on-failure
//! switch: ort's own default would quietly run on the CPU when CUDA is missing, which on a
//! Jetson looks like a working service at a tenth of the speed.

use super::onnx_fold::fold_onnx;
use super::{Engine, EngineError, OrtOptions, Provider};
use crate::model::manifest::ModelFiles;
use crate::model::{Folded, ModelError};
use ort::ep;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use ort::value::Tensor;
use std::path::PathBuf;
use std::sync::Mutex;

/// The ONNX Runtime environment: one per process, created by the first engine.
static ENVIRONMENT: Mutex<Option<(PathBuf, ort::environment::Environment)>> = Mutex::new(None);

/// The library to load: the config's, else `$ORT_DYLIB_PATH`, else the loader's search path.
fn library_path(opts: &OrtOptions) -> PathBuf {
    opts.library
        .clone()
        .or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("libonnxruntime.so"))
}

fn environment(opts: &OrtOptions) -> Result<ort::environment::Environment, String> {
    let library = library_path(opts);
    let mut slot = ENVIRONMENT.lock().map_err(|_| "ONNX Runtime set-up panicked earlier".to_string())?;
    if let Some((loaded, env)) = slot.as_ref() {
        // dlopen happens once per process; a second path cannot take effect.
        if *loaded != library {
            return Err(format!("ONNX Runtime is already loaded from {}; cannot also load {}", loaded.display(), library.display()));
        }
        return Ok(env.clone());
    }
    let env = ort::init_from(&library)
        .map_err(|e| format!("cannot load ONNX Runtime ({e}); set [inference.ort] library or ORT_DYLIB_PATH to libonnxruntime.so"))?
        .with_name("cliper")
        .build()
        .map_err(|e| format!("ONNX Runtime from {}: {e}", library.display()))?;
    log::info!("ort: ONNX Runtime loaded from {}", library.display());
    *slot = Some((library, env.clone()));
    Ok(env)
}

fn dispatch(provider: Provider, opts: &OrtOptions) -> ep::ExecutionProviderDispatch {
    match provider {
        Provider::Tensorrt => {
            let mut trt = ep::TensorRT::default().with_fp16(opts.trt_fp16);
            if let Some(dir) = &opts.trt_cache_dir {
                let dir = dir.display().to_string();
                trt = trt.with_engine_cache(true).with_engine_cache_path(&dir).with_timing_cache(true).with_timing_cache_path(&dir);
            }
            trt.build()
        }
        Provider::Cuda => ep::CUDA::default().build(),
        Provider::Cpu => ep::CPU::default().build(),
    }
    .error_on_failure()
}

/// Register every configured provider; returns the ones that took.
fn register_providers(
    mut builder: SessionBuilder,
    opts: &OrtOptions,
    path: &std::path::Path,
) -> Result<(SessionBuilder, Vec<Provider>), ModelError> {
    let mut active = Vec::new();
    for &provider in &opts.providers {
        match builder.with_execution_providers([dispatch(provider, opts)]) {
            Ok(b) => {
                builder = b;
                active.push(provider);
            }
            Err(e) if opts.allow_fallback => {
                log::warn!("ort: execution provider {} is unavailable, going on without it (allow_fallback): {e}", provider.name());
                builder = e.recover();
            }
            Err(e) => {
                return Err(ModelError::Backend {
                    path: path.to_path_buf(),
                    backend: "ort",
                    reason: format!(
                    "execution provider {} could not be registered: {e} (set [inference.ort] allow_fallback = true to continue without it)",
                    provider.name()
                ),
                })
            }
        }
    }
    Ok((builder, active))
}

/// A model in an ONNX Runtime session.
pub struct OrtEngine {
    session: Session,
    input_name: String,
    input_shape: Vec<usize>,
    output_shapes: Vec<Vec<usize>>,
    describe: String,
}

/// One output tensor: its shape and its data.
type ShapedOutput = (Vec<usize>, Vec<f32>);

impl OrtEngine {
    pub fn load(files: &ModelFiles, folded: Option<&Folded>, opts: &OrtOptions) -> Result<OrtEngine, ModelError> {
        let path = &files.onnx_path;
        let backend = |reason: String| ModelError::Backend { path: path.clone(), backend: "ort", reason };
        let env = environment(opts).map_err(backend)?;
        let onnx = match folded {
            Some(f) => fold_onnx(&files.onnx, f).map_err(|e| ModelError::Invalid { path: path.clone(), reason: e.to_string() })?,
            None => files.onnx.clone(),
        };
        let builder = Session::builder(&env)
            .map_err(|e| backend(e.to_string()))?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| backend(e.to_string()))?;
        let builder = if opts.intra_threads > 0 {
            builder.with_intra_threads(opts.intra_threads).map_err(|e| backend(e.to_string()))?
        } else {
            builder
        };
        let (mut builder, active) = register_providers(builder, opts, path)?;
        let session = builder.commit_from_memory(&onnx).map_err(|e| backend(format!("cannot create a session: {e}")))?;
        let input_name = session.inputs().first().map(|i| i.name().to_string()).ok_or_else(|| backend("the model has no input".into()))?;
        let input_shape = files.manifest.input_spec().shape().to_vec();
        let providers: Vec<&str> = active.iter().map(|p| p.name()).collect();
        let mut engine =
            OrtEngine { session, input_name, input_shape, output_shapes: Vec::new(), describe: format!("ort [{}]", providers.join(", ")) };
        // One run at load: output shapes for the callers' checks (ONNX files may leave
        // dimensions symbolic), and TensorRT builds its engines now, before READY, not on
        // the first face.
        let n: usize = engine.input_shape.iter().product();
        let shapes = engine.run_shapes(vec![0.0; n]).map_err(|e| backend(format!("trial run failed: {e}")))?;
        engine.output_shapes = shapes;
        if let Some(f) = folded {
            let want = [vec![1, f.dim], vec![1, f.descriptors()], vec![1, f.classes()]];
            if engine.output_shapes != want {
                return Err(ModelError::Invalid {
                    path: path.clone(),
                    reason: format!("folded encoder outputs are {:?}, the descriptor set needs {want:?}", engine.output_shapes),
                });
            }
        }
        Ok(engine)
    }

    fn run_shapes(&mut self, input: Vec<f32>) -> Result<Vec<Vec<usize>>, EngineError> {
        Ok(self.run_with_shapes(input)?.into_iter().map(|(s, _)| s).collect())
    }

    fn run_with_shapes(&mut self, input: Vec<f32>) -> Result<Vec<ShapedOutput>, EngineError> {
        let err = |e: ort::Error| EngineError::Backend(Box::new(e));
        let tensor = Tensor::from_array((self.input_shape.clone(), input)).map_err(err)?;
        let outputs = self.session.run(ort::inputs![self.input_name.as_str() => tensor]).map_err(err)?;
        let mut result = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(err)?;
            result.push((shape.iter().map(|d| *d as usize).collect(), data.to_vec()));
        }
        Ok(result)
    }
}

impl Engine for OrtEngine {
    fn run(&mut self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError> {
        Ok(self.run_with_shapes(input)?.into_iter().map(|(_, d)| d).collect())
    }

    fn output_shapes(&self) -> &[Vec<usize>] {
        &self.output_shapes
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}
