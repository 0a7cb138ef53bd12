// Links the system FFmpeg (Debian 12 / Raspberry Pi OS bookworm ship 5.1)
// found with pkg-config and generates Rust declarations for the part of its C
// API we call. Nothing is downloaded: the headers and libraries come from the
// distribution's libav*-dev packages.
use std::env;
use std::path::PathBuf;

const LIBRARIES: &[(&str, &str)] =
  &[("libavformat", "58"), ("libavcodec", "58"), ("libavutil", "56"), ("libswscale", "5"), ("libavdevice", "58")];

fn main() {
  napi_build::setup();

  let mut include_paths = Vec::new();
  for (name, min_version) in LIBRARIES {
    let lib = pkg_config::Config::new().atleast_version(min_version).probe(name).unwrap_or_else(|e| {
      panic!(
        "{name} development files not found with pkg-config ({e}). On Debian/Raspberry Pi OS: \
           apt-get install pkg-config libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libavdevice-dev"
      )
    });
    include_paths.extend(lib.include_paths);
  }

  println!("cargo:rerun-if-changed=wrapper.h");
  let mut builder = bindgen::Builder::default()
    .header("wrapper.h")
    .allowlist_function("av.*|avformat.*|avcodec.*|avdevice.*|sws_.*")
    .allowlist_type("AV.*|Sws.*")
    .allowlist_var("AV.*|FF_.*|SWS_.*|LIBAV.*")
    .default_enum_style(bindgen::EnumVariation::Consts)
    .prepend_enum_name(false)
    .derive_default(true)
    .layout_tests(false)
    .generate_comments(false)
    .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
  for path in &include_paths {
    builder = builder.clang_arg(format!("-I{}", path.display()));
  }
  let bindings = builder.generate().expect("bindgen failed on the FFmpeg headers");
  let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("ffmpeg.rs");
  bindings.write_to_file(out).expect("cannot write the FFmpeg bindings");
}
