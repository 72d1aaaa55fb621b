//! Depthwise 3×3 convolution, stride 1 or 2, any zero padding, NCHW (or CHW), f32, with
//! the bias (and optionally a ReLU) fused: tract runs stride-2 depthwise convs and every
//! border in scalar code. Each channel is a plane; each output row sums three input rows.
//! The interior of a row runs [`LANES`]-wide (AVX2+FMA when the CPU has it, NEON on
//! aarch64), the border columns and short rows run the scalar reference.

use super::Isa;
use tract_onnx::tract_core::internal::*;

/// Where one plane's output pixels read their input: all that a row kernel needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
    /// 1 or 2, both axes.
    pub stride: usize,
    /// Zero rows above and columns left of the input; those below and right are implied
    /// by `oh`/`ow` (any read past the input is a zero).
    pub pad_top: usize,
    pub pad_left: usize,
}

/// The custom op replacing a matched tract `Conv`: weights `[C, 9]` and bias `[C]` are
/// constants of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Depthwise3x3 {
    pub geo: Geometry,
    pub channels: usize,
    /// `[C, 3, 3]` f32.
    pub weights: Arc<Tensor>,
    /// `[C]` f32.
    pub bias: Arc<Tensor>,
    /// `max(0, x)` applied to the output.
    pub relu: bool,
    /// Which row kernel runs (decided at rewrite time from the CPU's features).
    pub isa: Isa,
}

/// One output row of one channel: `out[x] = act(bias + Σ k[ky][kx] · in[ky row][s·x + kx − pad_left])`,
/// rows above or below the input given as `None`.
#[derive(Clone, Copy)]
struct Row<'a> {
    rows: [Option<&'a [f32]>; 3],
    k: &'a [f32; 9],
    bias: f32,
    relu: bool,
    geo: &'a Geometry,
}

impl Row<'_> {
    /// The scalar reference for the output columns in `xs`.
    fn scalar(&self, out: &mut [f32], xs: std::ops::Range<usize>) {
        let (s, pl, w) = (self.geo.stride, self.geo.pad_left, self.geo.w);
        for x in xs {
            let mut acc = self.bias;
            for (ky, row) in self.rows.iter().enumerate() {
                let Some(row) = row else { continue };
                for kx in 0..3 {
                    let ix = s * x + kx;
                    if ix >= pl && ix - pl < w {
                        acc += self.k[ky * 3 + kx] * row[ix - pl];
                    }
                }
            }
            out[x] = if self.relu { acc.max(0.0) } else { acc };
        }
    }

    /// The output columns `[a, b)` whose `lanes`-wide blocks read only inside the input
    /// (stride 1 reads `lanes + 2` columns a block, stride 2 `2·lanes + 2`), `b − a` a
    /// multiple of `lanes`.
    fn interior(&self, lanes: usize) -> (usize, usize) {
        let (s, pl, w, ow) = (self.geo.stride, self.geo.pad_left, self.geo.w, self.geo.ow);
        let span = s * lanes + 2;
        let a = pl.div_ceil(s).min(ow);
        let mut b = a;
        while b + lanes <= ow && s * b + span <= w + pl {
            b += lanes;
        }
        (a, b)
    }

    fn run(&self, out: &mut [f32], isa: Isa) {
        match isa {
            Isa::Scalar => self.scalar(out, 0..self.geo.ow),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2Fma` is only chosen when the CPU has AVX2 and FMA.
            Isa::Avx2Fma => unsafe { self.avx2(out) },
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => self.neon(out),
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn avx2(&self, out: &mut [f32]) {
        use std::arch::x86_64::*;
        const L: usize = 8;
        let (a, b) = self.interior(L);
        self.scalar(out, 0..a);
        self.scalar(out, b..self.geo.ow);
        let (s, pl) = (self.geo.stride, self.geo.pad_left);
        let mut kv = [_mm256_setzero_ps(); 9];
        for (v, k) in kv.iter_mut().zip(self.k) {
            *v = _mm256_set1_ps(*k);
        }
        let zero = _mm256_setzero_ps();
        let mut x = a;
        while x < b {
            let mut acc = _mm256_set1_ps(self.bias);
            for (ky, row) in self.rows.iter().enumerate() {
                let Some(row) = row else { continue };
                // SAFETY: `interior` keeps every read of the block inside `row`.
                let p = unsafe { row.as_ptr().add(s * x - pl) };
                let (t0, t1, t2) = if s == 1 {
                    unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(1)), _mm256_loadu_ps(p.add(2))) }
                } else {
                    let (lo, hi, lo2, hi2) =
                        unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)), _mm256_loadu_ps(p.add(2)), _mm256_loadu_ps(p.add(10))) };
                    let (e0, o0) = super::deinterleave(lo, hi);
                    let (e2, _) = super::deinterleave(lo2, hi2);
                    (e0, o0, e2)
                };
                acc = _mm256_fmadd_ps(kv[ky * 3], t0, acc);
                acc = _mm256_fmadd_ps(kv[ky * 3 + 1], t1, acc);
                acc = _mm256_fmadd_ps(kv[ky * 3 + 2], t2, acc);
            }
            if self.relu {
                acc = _mm256_max_ps(acc, zero);
            }
            // SAFETY: x + 8 <= b <= ow == out.len().
            unsafe { _mm256_storeu_ps(out.as_mut_ptr().add(x), acc) };
            x += L;
        }
    }

    /// NEON is baseline on aarch64: no feature to enable.
    #[cfg(target_arch = "aarch64")]
    fn neon(&self, out: &mut [f32]) {
        use std::arch::aarch64::*;
        const L: usize = 4;
        let (a, b) = self.interior(L);
        self.scalar(out, 0..a);
        self.scalar(out, b..self.geo.ow);
        let (s, pl) = (self.geo.stride, self.geo.pad_left);
        // SAFETY (the intrinsics below): NEON is baseline on every aarch64 target Rust supports.
        let zero = unsafe { vdupq_n_f32(0.0) };
        let mut x = a;
        while x < b {
            let mut acc = unsafe { vdupq_n_f32(self.bias) };
            for (ky, row) in self.rows.iter().enumerate() {
                let Some(row) = row else { continue };
                // SAFETY: `interior` keeps every read of the block inside `row`.
                let p = unsafe { row.as_ptr().add(s * x - pl) };
                let (t0, t1, t2) = if s == 1 {
                    unsafe { (vld1q_f32(p), vld1q_f32(p.add(1)), vld1q_f32(p.add(2))) }
                } else {
                    let (d0, d2) = unsafe { (vld2q_f32(p), vld2q_f32(p.add(2))) };
                    (d0.0, d0.1, d2.0)
                };
                acc = unsafe { vfmaq_n_f32(acc, t0, self.k[ky * 3]) };
                acc = unsafe { vfmaq_n_f32(acc, t1, self.k[ky * 3 + 1]) };
                acc = unsafe { vfmaq_n_f32(acc, t2, self.k[ky * 3 + 2]) };
            }
            if self.relu {
                acc = unsafe { vmaxq_f32(acc, zero) };
            }
            // SAFETY: x + 4 <= b <= ow == out.len().
            unsafe { vst1q_f32(out.as_mut_ptr().add(x), acc) };
            x += L;
        }
    }
}

/// Run the convolution on `planes` input planes (`n · C`, each `h · w`) into `out`
/// (`n · C` planes of `oh · ow`); channel `p % C` uses `weights[9·c..]` and `bias[c]`.
pub fn depthwise3x3(input: &[f32], out: &mut [f32], weights: &[f32], bias: &[f32], geo: &Geometry, relu: bool, isa: Isa) {
    let channels = bias.len();
    let (plane_in, plane_out) = (geo.h * geo.w, geo.oh * geo.ow);
    for (p, (src, dst)) in input.chunks_exact(plane_in).zip(out.chunks_exact_mut(plane_out)).enumerate() {
        let c = p % channels;
        let k: [f32; 9] = std::array::from_fn(|i| weights[9 * c + i]);
        for (oy, dst_row) in dst.chunks_exact_mut(geo.ow).enumerate() {
            let rows = std::array::from_fn(|ky| {
                let iy = (geo.stride * oy + ky).checked_sub(geo.pad_top)?;
                (iy < geo.h).then(|| &src[iy * geo.w..(iy + 1) * geo.w])
            });
            Row { rows, k: &k, bias: bias[c], relu, geo }.run(dst_row, isa);
        }
    }
}

impl Op for Depthwise3x3 {
    fn name(&self) -> StaticName {
        "cliper.Depthwise3x3".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{:?} relu {} {:?}", self.geo, self.relu, self.isa)])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for Depthwise3x3 {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        let rank = shape.len();
        ensure!(rank >= 3 && shape[rank - 3] == self.channels, "{}: input {:?}", self.name(), shape);
        ensure!(shape[rank - 2] == self.geo.h && shape[rank - 1] == self.geo.w, "{}: input {:?}", self.name(), shape);
        shape[rank - 2] = self.geo.oh;
        shape[rank - 1] = self.geo.ow;
        let (w, b) = (self.weights.try_as_plain_ram()?, self.bias.try_as_plain_ram()?);
        let (w, b) = (w.as_slice::<f32>()?, b.as_slice::<f32>()?);
        super::run_into(&input, &shape, |x, y| depthwise3x3(x, y, w, b, &self.geo, self.relu, self.isa))
    }
}

impl TypedOp for Depthwise3x3 {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape = inputs[0].shape.to_tvec();
        let rank = shape.len();
        ensure!(rank >= 3 && inputs[0].datum_type == f32::datum_type());
        shape[rank - 2] = self.geo.oh.to_dim();
        shape[rank - 1] = self.geo.ow.to_dim();
        Ok(tvec!(f32::fact(shape)))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let planes: TDim = inputs[0].shape.iter().rev().skip(2).product();
        Ok(tvec!((Cost::FMA(f32::datum_type()), planes * (9 * self.geo.oh * self.geo.ow))))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::kernels::rewrite;
    use crate::testutil::Noise;
    use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::nn::DataFormat;

    struct Case {
        c: usize,
        h: usize,
        w: usize,
        stride: usize,
        pads: [usize; 4],
        scalar_bias: bool,
    }

    /// A graph holding one tract depthwise `Conv` on `[1, C, H, W]` (padding top, left,
    /// bottom, right).
    fn conv_model(case: &Case, weights: &[f32], bias: &[f32]) -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, case.c, case.h, case.w]))?;
        let k = model.add_const("k", tensor1(weights).into_shape(&[case.c, 1, 3, 3])?)?;
        let b = if case.scalar_bias { tensor0(bias[0]) } else { tensor1(bias) };
        let b = model.add_const("b", b)?;
        let [t, l, bo, r] = case.pads;
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(3, 3),
            padding: PaddingSpec::Explicit(tvec!(t, l), tvec!(bo, r)),
            dilations: None,
            strides: Some(tvec!(case.stride, case.stride)),
            input_channels: case.c,
            output_channels: case.c,
        };
        let conv = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group: case.c, q_params: None };
        let y = model.wire_node("conv", conv, &[x, k, b])?;
        model.select_output_outlets(&y)?;
        Ok(model)
    }

    fn run(model: TypedModel, input: &Tensor) -> TractResult<Tensor> {
        let plan = model.into_optimized()?.into_runnable()?;
        Ok(plan.run(tvec!(input.clone().into_tvalue()))?.remove(0).into_tensor())
    }

    fn assert_close(got: &[f32], want: &[f32], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{what}: [{i}] {a} vs tract {b}");
        }
    }

    /// Random shapes (planes narrower and wider than a SIMD block), strides 1 and 2,
    /// paddings 0 to 2 on each side, scalar and per-channel bias: every ISA this host runs
    /// and the rewritten graph match tract's own depthwise conv.
    #[test]
    fn matches_tract_on_random_shapes_strides_and_paddings() -> TractResult<()> {
        let mut noise = Noise::new(16);
        let mut isas = vec![Isa::Scalar, Isa::detect()];
        isas.dedup();
        for round in 0..60 {
            let case = Case {
                c: 2 + noise.below(5),
                h: 1 + noise.below(26),
                w: 1 + noise.below(40),
                stride: 1 + round % 2,
                pads: [noise.below(3), noise.below(3), noise.below(3), noise.below(3)],
                scalar_bias: round % 7 == 3,
            };
            if case.h + case.pads[0] + case.pads[2] < 3 || case.w + case.pads[1] + case.pads[3] < 3 {
                continue;
            }
            let what = format!("C {} {}x{} stride {} pads {:?}", case.c, case.h, case.w, case.stride, case.pads);
            let (weights, bias) = (noise.vec(case.c * 9), noise.vec(case.c));
            let input = tensor1(&noise.vec(case.c * case.h * case.w)).into_shape(&[1, case.c, case.h, case.w])?;
            let want = run(conv_model(&case, &weights, &bias)?, &input)?;
            let want = want.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();

            let mut model = conv_model(&case, &weights, &bias)?;
            assert_eq!(rewrite(&mut model)?.depthwise, 1, "{what}: not rewritten");
            let got = run(model, &input)?;
            assert_close(got.try_as_plain_ram()?.as_slice::<f32>()?, &want, &what);

            let op = {
                let model = conv_model(&case, &weights, &bias)?;
                let node = &model.nodes[model.node_id_by_name("conv")?];
                super::super::match_depthwise(&model, node, node.op_as::<Conv>().expect("conv"), Isa::Scalar)?.expect("matches")
            };
            let (w, b) = (op.weights.try_as_plain_ram()?, op.bias.try_as_plain_ram()?);
            let x = input.try_as_plain_ram()?;
            for &isa in &isas {
                for relu in [false, true] {
                    let mut out = vec![f32::NAN; want.len()];
                    depthwise3x3(x.as_slice()?, &mut out, w.as_slice()?, b.as_slice()?, &op.geo, relu, isa);
                    let want: Vec<f32> = want.iter().map(|v| if relu { v.max(0.0) } else { *v }).collect();
                    assert_close(&out, &want, &format!("{what} {isa:?} relu {relu}"));
                }
            }
        }
        Ok(())
    }

    #[test]
    fn leaves_other_convolutions_to_tract() -> TractResult<()> {
        let case = Case { c: 4, h: 8, w: 8, stride: 3, pads: [1; 4], scalar_bias: false };
        let mut model = conv_model(&case, &[0.5; 36], &[0.0; 4])?;
        assert_eq!(rewrite(&mut model)?.depthwise, 0, "stride 3 is not ours");
        Ok(())
    }
}
