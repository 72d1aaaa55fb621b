//! The default backend: the model optimised once by tract into one plan, with the
//! descriptor set folded into the graph before optimisation (see `model::fold`).

use super::{Engine, EngineError};
use crate::model::manifest::ModelFiles;
use crate::model::tract::{folded_encoder_plan, raw_plan, run_f32, Plan};
use crate::model::{Folded, ModelError};

/// A tract plan with its input shape.
pub struct TractEngine {
    plan: Plan,
    input_shape: Vec<usize>,
    output_shapes: Vec<Vec<usize>>,
}

impl TractEngine {
    pub fn load(files: &ModelFiles, folded: Option<&Folded>) -> Result<TractEngine, ModelError> {
        let plan = match folded {
            Some(f) => folded_encoder_plan(files, f)?,
            None => raw_plan(files)?,
        };
        let invalid = |reason: String| ModelError::Invalid { path: files.onnx_path.clone(), reason };
        let mut output_shapes = Vec::new();
        for ix in 0..plan.model().outputs.len() {
            let fact = plan.model().output_fact(ix).map_err(|e| invalid(format!("{e:#}")))?;
            let shape = fact.shape.as_concrete().ok_or_else(|| invalid(format!("output {ix} has no fixed shape: {fact:?}")))?;
            output_shapes.push(shape.to_vec());
        }
        Ok(TractEngine { plan, input_shape: files.manifest.input_spec().shape().to_vec(), output_shapes })
    }
}

impl Engine for TractEngine {
    fn run(&mut self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError> {
        run_f32(&self.plan, input, &self.input_shape).map_err(|e| EngineError(format!("{e:#}")))
    }

    fn output_shapes(&self) -> &[Vec<usize>] {
        &self.output_shapes
    }

    fn describe(&self) -> String {
        "tract".into()
    }
}
