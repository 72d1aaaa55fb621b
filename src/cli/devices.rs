//! `cliper devices`: every V4L2 capture device with its formats, sizes and frame rates.

use super::exit::Error;
use std::io::Write;

pub fn run(out: &mut dyn Write) -> Result<(), Error> {
    #[cfg(feature = "v4l2")]
    {
        if cliper::capture::v4l2::list_devices(out)? == 0 {
            writeln!(out, "no V4L2 capture devices")?;
        }
    }
    #[cfg(not(feature = "v4l2"))]
    writeln!(out, "this cliper was built without V4L2 support (feature v4l2)")?;
    Ok(())
}
