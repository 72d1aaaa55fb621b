//! The image files a list of paths names: files as given, directories searched recursively for
//! `.jpg`, `.jpeg` and `.png`, sorted within each directory (`cliper classify`, `cliper bench`,
//! the `images` source).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// File extensions taken from directories (case-insensitive).
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png"];

/// A directory that could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot list directory: {source}")]
pub struct ListError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Expand files and directories into image paths, sorted within each directory. Paths
/// that cannot be listed come back as errors, in place, so one bad path costs one line.
/// Every directory is entered once, however many symlinks lead to it: a link loop
/// (`ln -s .. loop`) ends the walk instead of repeating it.
pub fn expand_inputs(paths: &[PathBuf]) -> Vec<Result<PathBuf, ListError>> {
    let mut out = Vec::new();
    let mut visited = HashSet::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut visited, &mut out);
        } else {
            out.push(Ok(p.clone()));
        }
    }
    out
}

fn walk(dir: &Path, visited: &mut HashSet<PathBuf>, out: &mut Vec<Result<PathBuf, ListError>>) {
    match std::fs::canonicalize(dir) {
        Ok(real) => {
            if !visited.insert(real) {
                return;
            }
        }
        Err(source) => return out.push(Err(ListError { path: dir.to_owned(), source })),
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => return out.push(Err(ListError { path: dir.to_owned(), source })),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, visited, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e))) {
            out.push(Ok(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_searched_recursively_in_order_and_files_kept_as_given() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).expect("mkdir");
        for name in ["b.PNG", "a.jpg", "notes.txt", "sub/c.jpeg"] {
            std::fs::write(d.join(name), b"x").expect("write");
        }
        let given = d.join("notes.txt");
        let got: Vec<PathBuf> = expand_inputs(&[d.to_owned(), given.clone()]).into_iter().map(|r| r.expect("listed")).collect();
        assert_eq!(got, [d.join("a.jpg"), d.join("b.PNG"), d.join("sub/c.jpeg"), given]);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_are_walked_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("in");
        std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("a.jpg"), b"x").expect("write");
        // Two links back up: without a visited set, exponential.
        std::os::unix::fs::symlink("..", d.join("loop")).expect("symlink");
        std::os::unix::fs::symlink("../..", d.join("sub/up")).expect("symlink");
        let got: Vec<PathBuf> = expand_inputs(std::slice::from_ref(&d)).into_iter().map(|r| r.expect("listed")).collect();
        assert_eq!(got, [d.join("a.jpg")]);
    }
}
