//! `v4l2-bindgen TARGET OUT INCLUDE_DIR...`: the bindings v4l2-sys-mit 0.3.0's build script
//! would generate for `#include <linux/videodev2.h>`, for one target, from the UAPI and libc
//! headers under the given directories (searched in order).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [target, out, includes @ ..] = args.as_slice() else {
        eprintln!("usage: v4l2-bindgen TARGET OUT INCLUDE_DIR...");
        return ExitCode::from(2);
    };
    // An empty sysroot: only the named directories (and clang's own stddef.h and friends)
    // are searched, never the build machine's /usr/include, so cross bindings cannot pick
    // up the host's asm/ headers.
    let mut clang = vec![format!("--target={target}"), "--sysroot=/nonexistent".to_owned()];
    clang.extend(includes.iter().map(|d| format!("-isystem{d}")));
    let generated = bindgen::Builder::default()
        .header_contents("wrapper.h", "#include <linux/videodev2.h>\n")
        .clang_args(clang)
        .rustfmt_configuration_file(Some(concat!(env!("CARGO_MANIFEST_DIR"), "/rustfmt.toml").into()))
        .generate();
    let bindings = match generated {
        Ok(b) => b,
        Err(e) => {
            eprintln!("v4l2-bindgen: {target}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = bindings.write_to_file(out) {
        eprintln!("v4l2-bindgen: {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
