//! Max-pool 2×2 stride 2 without padding, NCHW (or CHW), f32: tract runs it in scalar code.
//! An odd last row or column is dropped, as ONNX's floor mode does.

use super::Isa;
use tract_onnx::tract_core::internal::*;

/// The custom op replacing a matched tract `MaxPool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxPool2x2 {
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    pub isa: Isa,
}

/// One output row from input rows `r0`, `r1`: `out[x] = max(r0[2x], r0[2x+1], r1[2x], r1[2x+1])`.
fn row_scalar(out: &mut [f32], r0: &[f32], r1: &[f32], xs: std::ops::Range<usize>) {
    for x in xs {
        out[x] = r0[2 * x].max(r0[2 * x + 1]).max(r1[2 * x].max(r1[2 * x + 1]));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn row_avx2(out: &mut [f32], r0: &[f32], r1: &[f32]) {
    use std::arch::x86_64::*;
    let mut x = 0;
    while x + 8 <= out.len() {
        // SAFETY: 2·(x + 8) <= 2·out.len() <= r0.len(), r1.len(); x + 8 <= out.len().
        unsafe {
            let (p0, p1) = (r0.as_ptr().add(2 * x), r1.as_ptr().add(2 * x));
            let lo = _mm256_max_ps(_mm256_loadu_ps(p0), _mm256_loadu_ps(p1));
            let hi = _mm256_max_ps(_mm256_loadu_ps(p0.add(8)), _mm256_loadu_ps(p1.add(8)));
            let (e, o) = super::deinterleave(lo, hi);
            _mm256_storeu_ps(out.as_mut_ptr().add(x), _mm256_max_ps(e, o));
        }
        x += 8;
    }
    row_scalar(out, r0, r1, x..out.len());
}

/// NEON is baseline on aarch64: no feature to enable.
#[cfg(target_arch = "aarch64")]
fn row_neon(out: &mut [f32], r0: &[f32], r1: &[f32]) {
    use std::arch::aarch64::*;
    let mut x = 0;
    while x + 4 <= out.len() {
        // SAFETY: 2·(x + 4) <= 2·out.len() <= r0.len(), r1.len(); x + 4 <= out.len().
        unsafe {
            let a = vld2q_f32(r0.as_ptr().add(2 * x));
            let b = vld2q_f32(r1.as_ptr().add(2 * x));
            let m = vmaxq_f32(vmaxq_f32(a.0, a.1), vmaxq_f32(b.0, b.1));
            vst1q_f32(out.as_mut_ptr().add(x), m);
        }
        x += 4;
    }
    row_scalar(out, r0, r1, x..out.len());
}

/// Pool every `h · w` plane of `input` into the `(h/2) · (w/2)` planes of `out`.
pub fn maxpool2x2(input: &[f32], out: &mut [f32], h: usize, w: usize, isa: Isa) {
    let (oh, ow) = (h / 2, w / 2);
    if oh == 0 || ow == 0 {
        return;
    }
    for (src, dst) in input.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for (oy, dst_row) in dst.chunks_exact_mut(ow).enumerate() {
            let (r0, r1) = (&src[2 * oy * w..(2 * oy + 1) * w], &src[(2 * oy + 1) * w..(2 * oy + 2) * w]);
            match isa {
                Isa::Scalar => row_scalar(dst_row, r0, r1, 0..ow),
                // SAFETY: `Isa::Avx2Fma` is only chosen when the CPU has AVX2 and FMA.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2Fma => unsafe { row_avx2(dst_row, r0, r1) },
                #[cfg(target_arch = "aarch64")]
                Isa::Neon => row_neon(dst_row, r0, r1),
            }
        }
    }
}

impl Op for MaxPool2x2 {
    fn name(&self) -> StaticName {
        "cliper.MaxPool2x2".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{}x{} {:?}", self.h, self.w, self.isa)])
    }

    op_as_typed_op!();
}

impl EvalOp for MaxPool2x2 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        let rank = shape.len();
        ensure!(rank >= 3 && shape[rank - 2] == self.h && shape[rank - 1] == self.w, "{}: input {:?}", self.name(), shape);
        shape[rank - 2] = self.h / 2;
        shape[rank - 1] = self.w / 2;
        super::run_into(&input, &shape, |x, y| maxpool2x2(x, y, self.h, self.w, self.isa))
    }
}

impl TypedOp for MaxPool2x2 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        let rank = shape.len();
        ensure!(rank >= 3 && inputs[0].datum_type == f32::datum_type());
        shape[rank - 2] = (self.h / 2).to_dim();
        shape[rank - 1] = (self.w / 2).to_dim();
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::kernels::rewrite;
    use crate::testutil::Noise;
    use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::nn::DataFormat;

    fn pool_model(c: usize, h: usize, w: usize, padding: PaddingSpec) -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, c, h, w]))?;
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(2, 2),
            padding,
            dilations: None,
            strides: Some(tvec!(2, 2)),
            input_channels: c,
            output_channels: c,
        };
        let y = model.wire_node("pool", MaxPool { pool_spec, with_index_outputs: None }, &[x])?;
        model.select_output_outlets(&y)?;
        Ok(model)
    }

    fn run(model: TypedModel, input: &Tensor) -> TractResult<Vec<f32>> {
        let plan = model.into_optimized()?.into_runnable()?;
        let out = plan.run(tvec!(input.clone().into_tvalue()))?.remove(0);
        Ok(out.try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
    }

    /// Random even and odd plane sizes, narrower and wider than a SIMD block: the rewritten
    /// graph and every ISA this host runs give tract's values exactly (max is exact).
    #[test]
    fn matches_tract_on_random_shapes() -> TractResult<()> {
        let mut noise = Noise::new(2);
        let mut isas = vec![Isa::Scalar, Isa::detect()];
        isas.dedup();
        for _ in 0..40 {
            let (c, h, w) = (1 + noise.below(4), 2 + noise.below(30), 2 + noise.below(50));
            let input = tensor1(&noise.vec(c * h * w)).into_shape(&[1, c, h, w])?;
            let want = run(pool_model(c, h, w, PaddingSpec::Valid)?, &input)?;
            let mut model = pool_model(c, h, w, PaddingSpec::Valid)?;
            assert_eq!(rewrite(&mut model)?.maxpool, 1, "{c}x{h}x{w}: not rewritten");
            assert_eq!(run(model, &input)?, want, "{c}x{h}x{w} rewritten");
            let x = input.try_as_plain_ram()?;
            for &isa in &isas {
                let mut out = vec![f32::NAN; want.len()];
                maxpool2x2(x.as_slice()?, &mut out, h, w, isa);
                assert_eq!(out, want, "{c}x{h}x{w} {isa:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn leaves_padded_pools_to_tract() -> TractResult<()> {
        let mut model = pool_model(2, 8, 8, PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1)))?;
        assert_eq!(rewrite(&mut model)?.maxpool, 0, "padded pools are not ours");
        Ok(())
    }
}
