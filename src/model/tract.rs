//! Loading an ONNX model under tract: fix the input shape from the manifest, optionally
//! fold a descriptor set onto the encoder's output, optimise once.

use super::manifest::{ModelFiles, Role};
use super::{Folded, ModelError};
use tract_onnx::prelude::*;

/// An optimised, runnable tract plan.
pub type Plan = Arc<TypedSimplePlan>;

fn tract_err(files: &ModelFiles) -> impl Fn(TractError) -> ModelError + '_ {
    move |e| ModelError::Tract { path: files.onnx_path.clone(), reason: format!("{e:#}") }
}

/// Parse the ONNX bytes into a typed model with the manifest's input shape.
pub fn typed_model(files: &ModelFiles) -> Result<TypedModel, ModelError> {
    let err = tract_err(files);
    let shape = files.manifest.input_spec().shape();
    let mut model = tract_onnx::onnx().model_for_read(&mut files.onnx.as_slice()).map_err(&err)?;
    model.set_input_fact(0, f32::fact(shape).into()).map_err(&err)?;
    model.into_typed().map_err(&err)
}

/// The model as exported, optimised: the reference for parity checks against onnxruntime.
pub fn raw_plan(files: &ModelFiles) -> Result<Plan, ModelError> {
    let err = tract_err(files);
    typed_model(files)?.into_optimized().and_then(|m| m.into_runnable()).map_err(err)
}

/// An encoder with `folded` appended. The plan's outputs are
/// `[embedding [1, D], descriptor logits [1, K], class logits [1, C]]`.
pub fn folded_encoder_plan(files: &ModelFiles, folded: &Folded) -> Result<Plan, ModelError> {
    files.expect_role(Role::Encoder)?;
    let err = tract_err(files);
    let mut model = typed_model(files)?;
    let outputs = model.output_outlets().map_err(&err)?.to_vec();
    let [embedding] = outputs[..] else {
        return Err(ModelError::Invalid {
            path: files.onnx_path.clone(),
            reason: format!("an encoder must have one output, this one has {}", outputs.len()),
        });
    };
    let fact = model.outlet_fact(embedding).map_err(&err)?.clone();
    let want = [1, folded.dim];
    if fact.shape.as_concrete() != Some(&want[..]) || fact.datum_type != f32::datum_type() {
        return Err(ModelError::Invalid {
            path: files.onnx_path.clone(),
            reason: format!("encoder output is {fact:?}, the descriptor set needs f32 {want:?}"),
        });
    }
    let (desc, class) = folded.wire(&mut model, embedding).map_err(&err)?;
    model.select_output_outlets(&[embedding, desc, class]).map_err(&err)?;
    model.into_optimized().and_then(|m| m.into_runnable()).map_err(err)
}

/// Run a plan on one f32 input tensor and return every output as a flat vector.
pub fn run_f32(plan: &Plan, data: Vec<f32>, shape: &[usize]) -> TractResult<Vec<Vec<f32>>> {
    let input = tract_ndarray::ArrayD::from_shape_vec(shape, data)?;
    let outputs = plan.run(tvec!(Tensor::from(input).into_tvalue()))?;
    outputs.iter().map(|o| to_vec_f32(o)).collect()
}

/// Copy an f32 tensor out of tract.
pub fn to_vec_f32(t: &Tensor) -> TractResult<Vec<f32>> {
    Ok(t.to_plain_array_view::<f32>()?.iter().copied().collect())
}
