//! Bilinear ×2 upsampling of the last two axes with ONNX's `half_pixel` coordinates, f32:
//! tract's generic resampler walks a per-pixel plan one axis at a time. With half-pixel
//! centres every output pixel is `0.75 · nearest + 0.25 · next nearest` input (edges
//! repeated), along each axis: `out[2i] = ¾ x[i] + ¼ x[i−1]`, `out[2i+1] = ¾ x[i] + ¼ x[i+1]`.

use super::Isa;
use tract_onnx::tract_core::internal::*;

/// The custom op replacing a matched tract `Resize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Upsample2x {
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    pub isa: Isa,
}

/// One row ×2 along its length (`dst.len() == 2 · src.len()`), columns `xs` of `src`.
fn row_scalar(src: &[f32], dst: &mut [f32], xs: std::ops::Range<usize>) {
    let n = src.len();
    for i in xs {
        let c = 0.75 * src[i];
        dst[2 * i] = c + 0.25 * src[i.saturating_sub(1)];
        dst[2 * i + 1] = c + 0.25 * src[(i + 1).min(n - 1)];
    }
}

/// `dst = ¾ a + ¼ b`, elementwise.
fn blend_scalar(a: &[f32], b: &[f32], dst: &mut [f32]) {
    for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
        *d = 0.75 * a + 0.25 * b;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn row_avx2(src: &[f32], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = src.len();
    let (q, t) = (_mm256_set1_ps(0.25), _mm256_set1_ps(0.75));
    let mut i = 1;
    // Blocks [i, i + 8) with i ≥ 1 and i + 9 ≤ n read src[i − 1 .. i + 9].
    while i + 9 <= n {
        // SAFETY: reads src[i − 1 .. i + 9] and writes dst[2i .. 2i + 16], all in bounds.
        unsafe {
            let p = src.as_ptr().add(i);
            let c = _mm256_mul_ps(t, _mm256_loadu_ps(p));
            let even = _mm256_fmadd_ps(q, _mm256_loadu_ps(p.sub(1)), c);
            let odd = _mm256_fmadd_ps(q, _mm256_loadu_ps(p.add(1)), c);
            // Per 128-bit lane: [e0 o0 e1 o1 | e4 o4 e5 o5] and [e2 o2 e3 o3 | e6 o6 e7 o7].
            let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
            let d = dst.as_mut_ptr().add(2 * i);
            _mm256_storeu_ps(d, _mm256_permute2f128_ps::<0x20>(lo, hi));
            _mm256_storeu_ps(d.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
        }
        i += 8;
    }
    row_scalar(src, dst, 0..1.min(n));
    row_scalar(src, dst, i..n);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn blend_avx2(a: &[f32], b: &[f32], dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let (q, t) = (_mm256_set1_ps(0.25), _mm256_set1_ps(0.75));
    let n = dst.len().min(a.len()).min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, the shortest of the three.
        unsafe {
            let v = _mm256_fmadd_ps(q, _mm256_loadu_ps(b.as_ptr().add(i)), _mm256_mul_ps(t, _mm256_loadu_ps(a.as_ptr().add(i))));
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), v);
        }
        i += 8;
    }
    blend_scalar(&a[i..n], &b[i..n], &mut dst[i..n]);
}

/// NEON is baseline on aarch64: no feature to enable.
#[cfg(target_arch = "aarch64")]
fn row_neon(src: &[f32], dst: &mut [f32]) {
    use std::arch::aarch64::*;
    let n = src.len();
    let mut i = 1;
    while i + 5 <= n {
        // SAFETY: reads src[i − 1 .. i + 5] and writes dst[2i .. 2i + 8], all in bounds.
        unsafe {
            let p = src.as_ptr().add(i);
            let c = vmulq_n_f32(vld1q_f32(p), 0.75);
            let even = vfmaq_n_f32(c, vld1q_f32(p.sub(1)), 0.25);
            let odd = vfmaq_n_f32(c, vld1q_f32(p.add(1)), 0.25);
            vst2q_f32(dst.as_mut_ptr().add(2 * i), float32x4x2_t(even, odd));
        }
        i += 4;
    }
    row_scalar(src, dst, 0..1.min(n));
    row_scalar(src, dst, i..n);
}

/// NEON is baseline on aarch64: no feature to enable.
#[cfg(target_arch = "aarch64")]
fn blend_neon(a: &[f32], b: &[f32], dst: &mut [f32]) {
    use std::arch::aarch64::*;
    let n = dst.len().min(a.len()).min(b.len());
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: i + 4 <= n, the shortest of the three.
        unsafe {
            let v = vfmaq_n_f32(vmulq_n_f32(vld1q_f32(a.as_ptr().add(i)), 0.75), vld1q_f32(b.as_ptr().add(i)), 0.25);
            vst1q_f32(dst.as_mut_ptr().add(i), v);
        }
        i += 4;
    }
    blend_scalar(&a[i..n], &b[i..n], &mut dst[i..n]);
}

fn row(src: &[f32], dst: &mut [f32], isa: Isa) {
    match isa {
        Isa::Scalar => row_scalar(src, dst, 0..src.len()),
        // SAFETY: `Isa::Avx2Fma` is only chosen when the CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { row_avx2(src, dst) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => row_neon(src, dst),
    }
}

fn blend(a: &[f32], b: &[f32], dst: &mut [f32], isa: Isa) {
    match isa {
        Isa::Scalar => blend_scalar(a, b, dst),
        // SAFETY: `Isa::Avx2Fma` is only chosen when the CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => unsafe { blend_avx2(a, b, dst) },
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => blend_neon(a, b, dst),
    }
}

/// Upsample every `h · w` plane of `input` into the `2h · 2w` planes of `out`.
pub fn upsample2x(input: &[f32], out: &mut [f32], h: usize, w: usize, isa: Isa) {
    if h == 0 || w == 0 {
        return;
    }
    let mut wide = vec![0f32; h * 2 * w];
    for (src, dst) in input.chunks_exact(h * w).zip(out.chunks_exact_mut(4 * h * w)) {
        for (s, d) in src.chunks_exact(w).zip(wide.chunks_exact_mut(2 * w)) {
            row(s, d, isa);
        }
        let wide_row = |i: usize| &wide[i * 2 * w..(i + 1) * 2 * w];
        for (i, pair) in dst.chunks_exact_mut(4 * w).enumerate() {
            let (even, odd) = pair.split_at_mut(2 * w);
            blend(wide_row(i), wide_row(i.saturating_sub(1)), even, isa);
            blend(wide_row(i), wide_row((i + 1).min(h - 1)), odd, isa);
        }
    }
}

impl Op for Upsample2x {
    fn name(&self) -> StaticName {
        "cliper.Upsample2x".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{}x{} {:?}", self.h, self.w, self.isa)])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for Upsample2x {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        let rank = shape.len();
        ensure!(rank >= 2 && shape[rank - 2] == self.h && shape[rank - 1] == self.w, "{}: input {:?}", self.name(), shape);
        shape[rank - 2] = 2 * self.h;
        shape[rank - 1] = 2 * self.w;
        super::run_into(&input, &shape, |x, y| upsample2x(x, y, self.h, self.w, self.isa))
    }
}

impl TypedOp for Upsample2x {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        let rank = shape.len();
        ensure!(rank >= 2 && inputs[0].datum_type == f32::datum_type());
        shape[rank - 2] = (2 * self.h).to_dim();
        shape[rank - 1] = (2 * self.w).to_dim();
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::kernels::rewrite;
    use crate::testutil::Noise;
    use tract_onnx::tract_core::ops::nn::{CoordTransformer, Interpolator, Nearest, Resize};

    fn resize_model(c: usize, h: usize, w: usize, sizes: [usize; 4], coord: CoordTransformer) -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, c, h, w]))?;
        let sizes = model.add_const("sizes", tensor1(&sizes.map(|s| s as i64)))?;
        let op = Resize {
            coord_transformer: coord,
            interpolator: Interpolator::Linear,
            nearest: Nearest::Floor,
            optional_scales_input: None,
            optional_sizes_input: Some(1),
        };
        let y = model.wire_node("resize", op, &[x, sizes])?;
        model.select_output_outlets(&y)?;
        Ok(model)
    }

    fn run(model: TypedModel, input: &Tensor) -> TractResult<Vec<f32>> {
        let plan = model.into_optimized()?.into_runnable()?;
        let out = plan.run(tvec!(input.clone().into_tvalue()))?.remove(0);
        Ok(out.try_as_plain_ram()?.as_slice::<f32>()?.to_vec())
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{what}: [{i}] {a} vs tract {b}");
        }
    }

    /// Random plane sizes from 1×1 up, narrower and wider than a SIMD block: the rewritten
    /// graph and every ISA this host runs match tract's bilinear half-pixel resize.
    #[test]
    fn matches_tract_on_random_shapes() -> TractResult<()> {
        let mut noise = Noise::new(3);
        let mut isas = vec![Isa::Scalar, Isa::detect()];
        isas.dedup();
        for _ in 0..40 {
            let (c, h, w) = (1 + noise.below(3), 1 + noise.below(20), 1 + noise.below(40));
            let what = format!("{c}x{h}x{w}");
            let input = tensor1(&noise.vec(c * h * w)).into_shape(&[1, c, h, w])?;
            let sizes = [1, c, 2 * h, 2 * w];
            let want = run(resize_model(c, h, w, sizes, CoordTransformer::HalfPixel)?, &input)?;
            let mut model = resize_model(c, h, w, sizes, CoordTransformer::HalfPixel)?;
            assert_eq!(rewrite(&mut model)?.resize, 1, "{what}: not rewritten");
            assert_close(&run(model, &input)?, &want, &what);
            let x = input.try_as_plain_ram()?;
            for &isa in &isas {
                let mut out = vec![f32::NAN; want.len()];
                upsample2x(x.as_slice()?, &mut out, h, w, isa);
                assert_close(&out, &want, &format!("{what} {isa:?}"));
            }
        }
        Ok(())
    }

    #[test]
    fn leaves_other_resizes_to_tract() -> TractResult<()> {
        let mut model = resize_model(2, 6, 6, [1, 2, 12, 12], CoordTransformer::AlignCorners)?;
        assert_eq!(rewrite(&mut model)?.resize, 0, "align_corners is not ours");
        let mut model = resize_model(2, 6, 6, [1, 2, 18, 12], CoordTransformer::HalfPixel)?;
        assert_eq!(rewrite(&mut model)?.resize, 0, "×3 is not ours");
        Ok(())
    }
}
