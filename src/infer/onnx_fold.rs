//! Folding a descriptor set into the ONNX file itself, for backends that take ONNX bytes
//! (ONNX Runtime): the same three outputs as the tract plan — embedding, descriptor logits,
//! class logits — so TensorRT or CUDA run the scoring with the encoder in one graph.

use crate::model::Folded;
use prost::Message;
use tract_onnx::pb;

const FLOAT: i32 = 1;

/// Why the encoder's ONNX could not be folded.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("not a readable ONNX model: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the ONNX file has no graph")]
    NoGraph,
    #[error("an encoder must have one output, this one has {0}")]
    Outputs(usize),
}

fn float_tensor(name: &str, dims: &[usize], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.iter().map(|d| *d as i64).collect(),
        data_type: FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn node(name: &str, op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    }
}

fn int_attr(name: &str, v: i64) -> pb::AttributeProto {
    // AttributeType::INT = 2
    pb::AttributeProto { name: name.into(), r#type: 2, i: v, ..Default::default() }
}

fn float_output(name: &str, dims: &[usize]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    let shape = pb::TensorShapeProto {
        dim: dims.iter().map(|d| Dimension { value: Some(Dim::DimValue(*d as i64)), ..Default::default() }).collect(),
    };
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor { elem_type: FLOAT, shape: Some(shape) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `onnx` with `folded` appended after its single output. The returned model's outputs are
/// `[embedding [1, D], descriptor logits [1, K], class logits [1, C]]`. Ops used
/// (LpNormalization, MatMul, Add) are unchanged since opset 1, so any opset works.
pub fn fold_onnx(onnx: &[u8], folded: &Folded) -> Result<Vec<u8>, FoldError> {
    let mut model = pb::ModelProto::decode(onnx)?;
    let graph = model.graph.as_mut().ok_or(FoldError::NoGraph)?;
    if graph.output.len() != 1 {
        return Err(FoldError::Outputs(graph.output.len()));
    }
    let (d, k, c) = (folded.dim, folded.descriptors(), folded.classes());
    let mut x = graph.output[0].name.clone();
    if folded.normalize {
        graph.node.push(node(
            "cliper.fold.normalize",
            "LpNormalization",
            &[&x],
            "cliper.fold.normalized",
            vec![int_attr("axis", -1), int_attr("p", 2)],
        ));
        x = "cliper.fold.normalized".into();
    }
    graph.initializer.push(float_tensor("cliper.fold.weights", &[d, k], &folded.weights));
    graph.node.push(node("cliper.fold.descriptors", "MatMul", &[&x, "cliper.fold.weights"], "cliper.descriptor_logits", vec![]));
    let desc = "cliper.descriptor_logits";
    if folded.bias.iter().any(|b| *b != 0.0) {
        if let Some(matmul) = graph.node.last_mut() {
            matmul.output = vec!["cliper.fold.unbiased".into()];
        }
        graph.initializer.push(float_tensor("cliper.fold.bias", &[1, k], &folded.bias));
        graph.node.push(node("cliper.fold.bias_add", "Add", &["cliper.fold.unbiased", "cliper.fold.bias"], desc, vec![]));
    }
    graph.initializer.push(float_tensor("cliper.fold.aggregate", &[k, c], &folded.aggregate));
    graph.node.push(node("cliper.fold.classes", "MatMul", &[desc, "cliper.fold.aggregate"], "cliper.class_logits", vec![]));
    graph.output.push(float_output(desc, &[1, k]));
    graph.output.push(float_output("cliper.class_logits", &[1, c]));
    Ok(model.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::embedded;

    /// The folded ONNX, run by tract, scores exactly like `Folded::score` on the raw
    /// embedding: the graph edit is checked without ONNX Runtime.
    #[test]
    fn folded_onnx_matches_plain_rust_scoring() {
        use tract_onnx::prelude::*;
        let files = embedded::model("faceapi_expression").expect("encoder");
        let set = embedded::resolve_descriptors("faceapi_expression").expect("descriptors");
        for normalize in [false, true] {
            let mut folded = Folded::new(&set);
            // The embedded set is linear; cosine scoring exercises the normalisation node.
            folded.normalize = normalize;
            let bytes = fold_onnx(&files.onnx, &folded).expect("fold");
            let shape = files.manifest.input_spec().shape();
            let plan = tract_onnx::onnx()
                .model_for_read(&mut bytes.as_slice())
                .and_then(|mut m| {
                    m.set_input_fact(0, f32::fact(shape).into())?;
                    m.into_optimized()?.into_runnable()
                })
                .expect("tract loads the folded ONNX");
            let n: usize = shape.iter().product();
            let input: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
            let out = crate::infer::tract::run_f32(&plan, input, &shape).expect("run");
            assert_eq!(out.len(), 3);
            let (desc, class) = folded.score(&out[0]);
            for (a, b) in desc.iter().chain(&class).zip(out[1].iter().chain(&out[2])) {
                assert!((a - b).abs() <= 1e-4 * (1.0 + a.abs()), "{a} vs {b} (normalize {normalize})");
            }
        }
    }

    #[test]
    fn garbage_and_multi_output_models_are_refused() {
        let set = embedded::resolve_descriptors("faceapi_expression").expect("descriptors");
        let folded = Folded::new(&set);
        assert!(matches!(fold_onnx(b"not onnx at all", &folded), Err(FoldError::Decode(_))));
        let detector = embedded::model("blazeface_short_range").expect("detector");
        assert!(matches!(fold_onnx(&detector.onnx, &folded), Err(FoldError::Outputs(2))));
    }
}
