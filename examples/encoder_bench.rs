//! Run an encoder manifest + descriptor set on prepared input tensors and time it.
//!
//! ```sh
//! cargo run --release --example encoder_bench -- --encoder M.toml --descriptors D.json \
//!     [--iterations N] [--warmup W] [--random K] [--labels a,b,c] [TENSOR.f32 ...]
//! ```
//!
//! Each TENSOR.f32 is a little-endian f32 file holding one input already prepared in the
//! manifest's layout (e.g. CLIP-normalised NCHW [1,3,224,224]); `--random K` adds K fixed-seed
//! normal tensors. Loading (parse + fold + optimise) is timed once; each tensor then runs
//! `warmup + iterations` times through `FoldedClassifier::classify_prepared`. Prints one JSON
//! line per tensor (logits of the last run, mean and median latency) and a summary line.

use anyhow::{bail, Context, Result};
use cliper::classify::{Classifier, FoldedClassifier};
use cliper::model::manifest::ModelFiles;
use cliper::model::DescriptorSet;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    encoder: PathBuf,
    descriptors: PathBuf,
    iterations: usize,
    warmup: usize,
    random: usize,
    labels: Option<Vec<String>>,
    tensors: Vec<PathBuf>,
}

fn parse() -> Result<Args> {
    let mut a =
        Args { encoder: PathBuf::new(), descriptors: PathBuf::new(), iterations: 10, warmup: 2, random: 0, labels: None, tensors: vec![] };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--encoder" => a.encoder = val()?.into(),
            "--descriptors" => a.descriptors = val()?.into(),
            "--iterations" => a.iterations = val()?.parse()?,
            "--warmup" => a.warmup = val()?.parse()?,
            "--random" => a.random = val()?.parse()?,
            "--labels" => a.labels = Some(val()?.split(',').map(str::to_owned).collect()),
            s if s.starts_with("--") => bail!("unknown option {s}"),
            _ => a.tensors.push(arg.into()),
        }
    }
    if a.encoder.as_os_str().is_empty() || a.descriptors.as_os_str().is_empty() {
        bail!("usage: encoder_bench --encoder M.toml --descriptors D.json [--iterations N] [--warmup W] [--random K] [--labels a,b] [T.f32 ...]");
    }
    Ok(a)
}

/// Fixed-seed standard normal values (xorshift64* + Box-Muller): no extra dependency.
fn normal(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n).map(|_| ((-2.0 * uniform().ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform()).cos()) as f32).collect()
}

fn main() -> Result<()> {
    let a = parse()?;
    let t0 = Instant::now();
    let files = ModelFiles::load(&a.encoder)?;
    let mut set = DescriptorSet::load(&a.descriptors)?;
    if let Some(labels) = &a.labels {
        let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
        set = set.select(&refs)?;
    }
    let mut c = FoldedClassifier::load(&files, &set)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let shape = c.input_spec().shape();
    let n: usize = shape.iter().product();

    let mut inputs: Vec<(String, Vec<f32>)> = vec![];
    for p in &a.tensors {
        let bytes = std::fs::read(p).with_context(|| p.display().to_string())?;
        if bytes.len() != n * 4 {
            bail!("{}: {} bytes, the manifest's input {:?} needs {}", p.display(), bytes.len(), shape, n * 4);
        }
        inputs.push((p.display().to_string(), bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()));
    }
    for k in 0..a.random {
        inputs.push((format!("random:{k}"), normal(n, k as u64 + 1)));
    }

    let mut all = vec![];
    for (name, data) in &inputs {
        let mut times = vec![];
        let mut last = None;
        for i in 0..a.warmup + a.iterations.max(1) {
            let t = Instant::now();
            let r = c.classify_prepared(data.clone())?;
            if i >= a.warmup {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
            last = Some(r);
        }
        let r = last.context("no run")?;
        times.sort_by(|x, y| x.total_cmp(y));
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let median = times[times.len() / 2];
        all.extend(times.iter().copied());
        let best = r.best_class();
        let folded = c.folded();
        let d = r.best_descriptor_of(best, folded);
        println!(
            "{}",
            json!({"input": name, "labels": folded.labels, "class_logits": r.class_logits,
                   "descriptor_names": folded.descriptor_names, "descriptor_logits": r.descriptor_logits,
                   "embedding": r.embedding, "top1": folded.labels[best], "descriptor": folded.descriptor_names[d],
                   "mean_ms": mean, "median_ms": median})
        );
    }
    all.sort_by(|x, y| x.total_cmp(y));
    let mean = if all.is_empty() { 0.0 } else { all.iter().sum::<f64>() / all.len() as f64 };
    let median = all.get(all.len() / 2).copied().unwrap_or(0.0);
    println!(
        "{}",
        json!({"summary": true, "encoder": c.name, "onnx": files.onnx_path.display().to_string(), "load_ms": load_ms,
               "inputs": inputs.len(), "runs": all.len(), "mean_ms": mean, "median_ms": median})
    );
    Ok(())
}
