//! cliper's own kernels for the ops tract is slow at on the default models, as custom tract
//! ops. [`rewrite`] runs on the decluttered typed graph, before `into_optimized`, and
//! replaces a node only when its pattern matches exactly (op, data format, constant
//! weights, shapes); everything else stays tract's. `[inference] kernels = "tract"` (or
//! `--kernels tract`) skips the rewrite, for comparison.
//!
//! Each kernel has a portable scalar reference and the SIMD paths the host runs (x86-64
//! AVX2+FMA detected at run time, aarch64 NEON), all tested against tract's own op.

pub mod depthwise;
pub mod maxpool;
pub mod resize;

use depthwise::{Depthwise3x3, Geometry};
use maxpool::MaxPool2x2;
use resize::Upsample2x;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec};
use tract_onnx::tract_core::ops::nn::{CoordTransformer, Interpolator, Resize};

/// The instruction set cliper's kernels use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
    #[cfg(target_arch = "aarch64")]
    Neon,
}

impl Isa {
    /// The fastest kernels this CPU runs: AVX2+FMA when detected, else scalar.
    #[cfg(target_arch = "x86_64")]
    pub fn detect() -> Isa {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            Isa::Avx2Fma
        } else {
            Isa::Scalar
        }
    }

    /// The fastest kernels this CPU runs: NEON, baseline on aarch64.
    #[cfg(target_arch = "aarch64")]
    pub fn detect() -> Isa {
        Isa::Neon
    }

    /// The fastest kernels this CPU runs: the scalar references.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub fn detect() -> Isa {
        Isa::Scalar
    }
}

/// What [`rewrite`] replaced, for the load log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rewritten {
    /// Depthwise 3×3 convolutions.
    pub depthwise: usize,
    /// 2×2 stride-2 max-pools.
    pub maxpool: usize,
    /// Bilinear half-pixel ×2 resizes.
    pub resize: usize,
}

/// Replace the nodes of `model` that one of cliper's kernels runs faster; `model` should be
/// decluttered (tract has then folded paddings into convolutions).
pub fn rewrite(model: &mut TypedModel) -> TractResult<Rewritten> {
    let isa = Isa::detect();
    let mut done = Rewritten::default();
    for id in model.eval_order()? {
        let node = &model.nodes[id];
        let patch = if let Some(op) = node.op_as::<Conv>().map(|conv| match_depthwise(model, node, conv, isa)).transpose()?.flatten() {
            done.depthwise += 1;
            TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op)?
        } else if let Some(op) = node.op_as::<MaxPool>().map(|pool| match_maxpool(model, node, pool, isa)).transpose()?.flatten() {
            done.maxpool += 1;
            TypedModelPatch::replace_single_op(model, node, &node.inputs, op)?
        } else if let Some(op) = node.op_as::<Resize>().map(|resize| match_resize(model, node, resize, isa)).transpose()?.flatten() {
            done.resize += 1;
            TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op)?
        } else {
            continue;
        };
        patch.apply(model)?;
    }
    model.compact()?;
    Ok(done)
}

/// A float depthwise 3×3 conv, stride 1 or 2 on both axes, no dilation, channels first,
/// with constant OIHW weights `[C, 1, 3, 3]` and a constant scalar or `[C]` bias.
fn match_depthwise(model: &TypedModel, node: &TypedNode, conv: &Conv, isa: Isa) -> TractResult<Option<Depthwise3x3>> {
    let spec = &conv.pool_spec;
    let c = spec.input_channels;
    let stride = spec.stride(0);
    if conv.q_params.is_some()
        || conv.kernel_fmt != KernelFormat::OIHW
        || conv.group != c
        || spec.output_channels != c
        || c < 2
        || spec.data_format.c_is_last()
        || spec.kernel_shape[..] != [3, 3]
        || spec.dilation(0) != 1
        || spec.dilation(1) != 1
        || !(stride == 1 || stride == 2)
        || spec.stride(1) != stride
        || node.inputs.len() != 3
    {
        return Ok(None);
    }
    let facts = model.node_input_facts(node.id)?;
    let (input, kernel, bias) = (facts[0], facts[1], facts[2]);
    let Some(shape) = input.shape.as_concrete() else { return Ok(None) };
    let rank = if spec.data_format.has_n() { 4 } else { 3 };
    if input.datum_type != f32::datum_type() || shape.len() != rank || shape[rank - 3] != c {
        return Ok(None);
    }
    let (Some(weights), Some(bias)) = (&kernel.konst, &bias.konst) else { return Ok(None) };
    if weights.datum_type() != f32::datum_type() || weights.shape() != [c, 1, 3, 3] || bias.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    let bias = match bias.shape() {
        [] => tensor1(&vec![bias.try_as_plain_ram()?.as_slice::<f32>()?[0]; c]),
        [n] if *n == c => Tensor::clone(bias),
        _ => return Ok(None),
    };
    let (h, w) = (shape[rank - 2], shape[rank - 1]);
    let pads = spec.computed_padding(&[h, w]);
    let geo = Geometry {
        h,
        w,
        oh: pads[0].convoluted,
        ow: pads[1].convoluted,
        stride,
        pad_top: pads[0].pad_before,
        pad_left: pads[1].pad_before,
    };
    if geo.oh == 0 || geo.ow == 0 {
        return Ok(None);
    }
    let weights = Tensor::clone(weights).into_shape(&[c, 3, 3])?;
    Ok(Some(Depthwise3x3 { geo, channels: c, weights: weights.into_arc_tensor(), bias: bias.into_arc_tensor(), relu: false, isa }))
}

/// A float 2×2 stride-2 max-pool without padding (or with explicit zero padding, floor
/// mode), channels first, one output.
fn match_maxpool(model: &TypedModel, node: &TypedNode, pool: &MaxPool, isa: Isa) -> TractResult<Option<MaxPool2x2>> {
    let spec = &pool.pool_spec;
    let no_padding = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, false) => b.iter().chain(a).all(|p| *p == 0),
        _ => false,
    };
    if pool.with_index_outputs.is_some()
        || !no_padding
        || spec.data_format.c_is_last()
        || spec.kernel_shape[..] != [2, 2]
        || spec.stride(0) != 2
        || spec.stride(1) != 2
        || spec.dilation(0) != 1
        || spec.dilation(1) != 1
        || node.inputs.len() != 1
    {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let Some(shape) = input.shape.as_concrete() else { return Ok(None) };
    let rank = if spec.data_format.has_n() { 4 } else { 3 };
    if input.datum_type != f32::datum_type() || shape.len() != rank || shape[rank - 2] < 2 || shape[rank - 1] < 2 {
        return Ok(None);
    }
    Ok(Some(MaxPool2x2 { h: shape[rank - 2], w: shape[rank - 1], isa }))
}

/// A float bilinear resize with half-pixel coordinates whose output doubles the last two
/// axes and keeps the others.
fn match_resize(model: &TypedModel, node: &TypedNode, resize: &Resize, isa: Isa) -> TractResult<Option<Upsample2x>> {
    if resize.interpolator != Interpolator::Linear || resize.coord_transformer != CoordTransformer::HalfPixel {
        return Ok(None);
    }
    let input = model.outlet_fact(node.inputs[0])?;
    let (Some(shape), Some(out)) = (input.shape.as_concrete(), node.outputs[0].fact.shape.as_concrete()) else { return Ok(None) };
    let rank = shape.len();
    if input.datum_type != f32::datum_type()
        || rank < 3
        || out.len() != rank
        || shape[..rank - 2] != out[..rank - 2]
        || out[rank - 2] != 2 * shape[rank - 2]
        || out[rank - 1] != 2 * shape[rank - 1]
    {
        return Ok(None);
    }
    Ok(Some(Upsample2x { h: shape[rank - 2], w: shape[rank - 1], isa }))
}

/// Even and odd lanes of the 16 floats `lo ++ hi`, each in order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn deinterleave(
    lo: std::arch::x86_64::__m256,
    hi: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    // Per 128-bit lane: [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6]; then 64-bit pairs 0, 2, 1, 3.
    let e = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
    let o = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
    let e = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(e)));
    let o = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(o)));
    (e, o)
}

/// An f32 output of `shape` filled by `kernel` from `input`'s data: the part of `eval` every
/// kernel op shares.
fn run_into(input: &Tensor, shape: &[usize], kernel: impl FnOnce(&[f32], &mut [f32])) -> TractResult<TVec<TValue>> {
    let mut out = Tensor::zero::<f32>(shape)?;
    {
        let view = input.try_as_plain_ram()?;
        let mut out_view = out.try_as_plain_ram_mut()?;
        kernel(view.as_slice::<f32>()?, out_view.as_slice_mut::<f32>()?);
    }
    Ok(tvec!(out.into_tvalue()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::tract::{run_f32, typed_model};
    use crate::infer::Kernels;
    use crate::model::embedded;
    use crate::testutil::Noise;

    /// On the embedded models, the rewrite takes every node it was written for and the
    /// plan's outputs stay tract's own within float rounding.
    #[test]
    fn default_models_are_rewritten_and_keep_tract_s_outputs() {
        for (stem, want) in [
            ("blazeface_full_range", Rewritten { depthwise: 40, maxpool: 4, resize: 3 }),
            ("blazeface_short_range", Rewritten { depthwise: 16, maxpool: 3, resize: 0 }),
            ("faceapi_expression", Rewritten { depthwise: 15, maxpool: 0, resize: 0 }),
        ] {
            let files = embedded::model(stem).expect("embedded");
            let mut model = typed_model(&files).expect("typed");
            model.declutter().expect("declutter");
            let done = rewrite(&mut model).expect("rewrite");
            // On x86-64 tract keeps every depthwise conv channels-first, so all of them match. On
            // aarch64 tract moves some to channels-last for its own depthwise kernel first (24 of
            // BlazeFace full's 40 match under qemu-aarch64): those stay tract's.
            #[cfg(target_arch = "x86_64")]
            assert_eq!(done, want, "{stem}");
            #[cfg(not(target_arch = "x86_64"))]
            assert!(
                done.depthwise <= want.depthwise && (done.maxpool, done.resize) == (want.maxpool, want.resize),
                "{stem}: {done:?}, want up to {want:?}"
            );
            let shape = files.manifest.input_spec().shape().to_vec();
            let input = Noise::new(7).vec(shape.iter().product());
            let ours = crate::infer::tract::plan(&files, Kernels::Cliper).expect("plan");
            let theirs = crate::infer::tract::plan(&files, Kernels::Tract).expect("plan");
            let a = run_f32(&ours, input.clone(), &shape).expect("run");
            let b = run_f32(&theirs, input, &shape).expect("run");
            for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                assert!((x - y).abs() <= 1e-4 * (1.0 + y.abs()), "{stem}: {x} vs tract {y}");
            }
        }
    }
}
