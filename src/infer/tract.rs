//! The default backend, and every tract graph cliper builds: the ONNX model parsed with the
//! manifest's input shape, the descriptor set's matrices wired after the encoder's embedding
//! before optimisation ([`wire_folded`]), optimised once into one plan.

use super::{kernels, Engine, EngineError, Kernels};
use crate::model::manifest::{ModelFiles, Role};
use crate::model::{Folded, ModelError};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};

/// An optimised, runnable tract plan.
pub type Plan = Arc<TypedSimplePlan>;

/// A tract error with its whole context chain in its message (tract's errors are `anyhow`
/// chains, whose plain `Display` shows only the outermost context).
#[derive(Debug)]
pub struct TractFailure(pub TractError);

impl std::fmt::Display for TractFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for TractFailure {}

fn tract_err(files: &ModelFiles) -> impl Fn(TractError) -> ModelError + '_ {
    move |e| ModelError::Tract { path: files.onnx_path.clone(), source: Box::new(TractFailure(e)) }
}

/// Parse the ONNX bytes into a typed model with the manifest's input shape.
pub fn typed_model(files: &ModelFiles) -> Result<TypedModel, ModelError> {
    let err = tract_err(files);
    let shape = files.manifest.input_spec().shape();
    let mut model = tract_onnx::onnx().model_for_read(&mut files.onnx.as_slice()).map_err(&err)?;
    // A manifest that disagrees with the file's own input would run the graph on a tensor it
    // was not built for: a panic inside an operator, or NaN scores.
    if let Some(reason) = input_mismatch(&model.input_fact(0).map_err(&err)?.shape, &shape) {
        return Err(ModelError::Invalid { path: files.onnx_path.clone(), reason });
    }
    model.set_input_fact(0, f32::fact(shape).into()).map_err(&err)?;
    model.into_typed().map_err(&err)
}

/// Why the ONNX file's declared input (fixed dimensions only; symbolic ones accept any size)
/// cannot take the manifest's shape `want`; `None` when it can.
fn input_mismatch(declared: &tract_onnx::tract_hir::infer::ShapeFactoid, want: &[usize]) -> Option<String> {
    use tract_onnx::tract_hir::infer::Factoid;
    let dims: Vec<Option<usize>> =
        declared.dims().map(|d| d.concretize().and_then(|d| d.to_i64().ok()).and_then(|d| usize::try_from(d).ok())).collect();
    let rank_fits = if declared.is_open() { dims.len() <= want.len() } else { dims.len() == want.len() };
    if rank_fits && dims.iter().zip(want).all(|(d, w)| d.is_none_or(|d| d == *w)) {
        return None;
    }
    let join = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<_>>().join("x");
    let file = join(&mut dims.iter().map(|d| d.map_or("?".to_owned(), |d| d.to_string())));
    let manifest = join(&mut want.iter().map(|d| d.to_string()));
    Some(format!("the ONNX input is {file}, but the manifest's input_width, input_height, layout and color make {manifest}"))
}

/// The model as exported, optimised by tract alone: the reference for parity checks
/// against onnxruntime and for cliper's kernels.
pub fn raw_plan(files: &ModelFiles) -> Result<Plan, ModelError> {
    plan(files, Kernels::Tract)
}

/// The model as exported, optimised, with cliper's kernels where they match when `kernels`
/// says so.
pub fn plan(files: &ModelFiles, kernels: Kernels) -> Result<Plan, ModelError> {
    optimise(files, typed_model(files)?, kernels)
}

/// Declutter, swap in cliper's kernels (see [`kernels::rewrite`]), optimise.
fn optimise(files: &ModelFiles, mut model: TypedModel, with: Kernels) -> Result<Plan, ModelError> {
    let err = tract_err(files);
    if with == Kernels::Cliper {
        model.declutter().map_err(&err)?;
        let done = kernels::rewrite(&mut model).map_err(&err)?;
        log::debug!("{}: cliper kernels for {done:?}", files.onnx_path.display());
    }
    model.into_optimized().and_then(|m| m.into_runnable()).map_err(err)
}

/// An encoder with `folded` appended. The plan's outputs are
/// `[embedding [1, D], descriptor logits [1, K], class logits [1, C]]`.
pub fn folded_encoder_plan(files: &ModelFiles, folded: &Folded, kernels: Kernels) -> Result<Plan, ModelError> {
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
    let (desc, class) = wire_folded(folded, &mut model, embedding).map_err(&err)?;
    model.select_output_outlets(&[embedding, desc, class]).map_err(&err)?;
    optimise(files, model, kernels)
}

/// Append `folded`'s scoring after `embedding` (shape `[1, D]`) and return the
/// descriptor-logit and class-logit outlets: the graph form of [`Folded::score`].
pub fn wire_folded(folded: &Folded, model: &mut TypedModel, embedding: OutletId) -> TractResult<(OutletId, OutletId)> {
    let (d, k_total, c_total) = (folded.dim, folded.descriptors(), folded.classes());
    let mut x = embedding;
    if folded.normalize {
        let sq = model.wire_node("cliper.fold.square", math::square(), &[x])?[0];
        let ss = model.wire_node("cliper.fold.sum", Reduce::new(tvec!(1), Reducer::Sum), &[sq])?[0];
        let inv = model.wire_node("cliper.fold.rsqrt", math::rsqrt(), &[ss])?[0];
        x = model.wire_node("cliper.fold.normalize", math::mul(), &[x, inv])?[0];
    }
    let w = model.add_const("cliper.fold.weights", tensor1(&folded.weights).into_shape(&[d, k_total])?)?;
    let mut desc = model.wire_node("cliper.fold.descriptors", EinSum::new("mk,kn->mn".parse()?, f32::datum_type()), &[x, w])?[0];
    if folded.bias.iter().any(|b| *b != 0.0) {
        let b = model.add_const("cliper.fold.bias", tensor1(&folded.bias).into_shape(&[1, k_total])?)?;
        desc = model.wire_node("cliper.fold.bias_add", math::add(), &[desc, b])?[0];
    }
    let a = model.add_const("cliper.fold.aggregate", tensor1(&folded.aggregate).into_shape(&[k_total, c_total])?)?;
    let class = model.wire_node("cliper.fold.classes", EinSum::new("mk,kn->mn".parse()?, f32::datum_type()), &[desc, a])?[0];
    Ok((desc, class))
}

/// Run a plan on one f32 input tensor and return every output as a flat vector.
pub fn run_f32(plan: &Plan, data: Vec<f32>, shape: &[usize]) -> Result<Vec<Vec<f32>>, TractFailure> {
    let run = || -> TractResult<Vec<Vec<f32>>> {
        let input = tract_ndarray::ArrayD::from_shape_vec(shape, data)?;
        let outputs = plan.run(tvec!(Tensor::from(input).into_tvalue()))?;
        outputs.iter().map(|o| to_vec_f32(o)).collect()
    };
    run().map_err(TractFailure)
}

/// Copy an f32 tensor out of tract.
pub fn to_vec_f32(t: &Tensor) -> TractResult<Vec<f32>> {
    Ok(t.to_plain_array_view::<f32>()?.iter().copied().collect())
}

/// A tract plan with its input shape.
pub struct TractEngine {
    plan: Plan,
    kernels: Kernels,
    input_shape: Vec<usize>,
    output_shapes: Vec<Vec<usize>>,
}

impl TractEngine {
    pub fn load(files: &ModelFiles, folded: Option<&Folded>, kernels: Kernels) -> Result<TractEngine, ModelError> {
        let plan = match folded {
            Some(f) => folded_encoder_plan(files, f, kernels)?,
            None => plan(files, kernels)?,
        };
        let invalid = |reason: String| ModelError::Invalid { path: files.onnx_path.clone(), reason };
        let mut output_shapes = Vec::new();
        for ix in 0..plan.model().outputs.len() {
            let fact = plan.model().output_fact(ix).map_err(|e| invalid(format!("{e:#}")))?;
            let shape = fact.shape.as_concrete().ok_or_else(|| invalid(format!("output {ix} has no fixed shape: {fact:?}")))?;
            output_shapes.push(shape.to_vec());
        }
        Ok(TractEngine { plan, kernels, input_shape: files.manifest.input_spec().shape().to_vec(), output_shapes })
    }
}

impl Engine for TractEngine {
    fn run(&mut self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError> {
        Ok(run_f32(&self.plan, input, &self.input_shape)?)
    }

    fn output_shapes(&self) -> &[Vec<usize>] {
        &self.output_shapes
    }

    fn describe(&self) -> String {
        match self.kernels {
            Kernels::Cliper => "tract + cliper kernels".into(),
            Kernels::Tract => "tract".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DescriptorSet;
    use crate::testutil::toy_descriptor_set;
    use std::path::Path;

    #[test]
    fn wired_graph_matches_plain_scoring() -> TractResult<()> {
        for scoring in [r#"{"type": "cosine", "scale": 100}"#, r#"{"type": "linear"}"#] {
            let f = Folded::new(&DescriptorSet::parse(&toy_descriptor_set(scoring), Path::new("t.json")).expect("toy set"));
            let mut model = TypedModel::default();
            let input = model.add_source("embedding", f32::fact([1, 2]))?;
            let (desc, class) = wire_folded(&f, &mut model, input)?;
            model.select_output_outlets(&[desc, class])?;
            let plan = model.into_optimized()?.into_runnable()?;
            let out = plan.run(tvec!(tensor2(&[[3f32, 4.0]]).into_tvalue()))?;
            let (want_desc, want_class) = f.score(&[3.0, 4.0]);
            let got_desc = to_vec_f32(&out[0])?;
            let got_class = to_vec_f32(&out[1])?;
            for (a, b) in got_desc.iter().zip(&want_desc).chain(got_class.iter().zip(&want_class)) {
                assert!((a - b).abs() < 1e-4, "{scoring}: {a} vs {b}");
            }
        }
        Ok(())
    }

    #[test]
    fn load_failures_keep_tract_s_whole_message_as_their_source() {
        let mut files = crate::model::embedded::model("faceapi_expression").expect("embedded");
        files.onnx = b"not an onnx file".to_vec();
        let e = raw_plan(&files).expect_err("garbage does not load");
        let source = std::error::Error::source(&e).expect("a source").to_string();
        assert!(!source.is_empty() && e.to_string().ends_with(&source), "{e} / {source}");
    }
}
