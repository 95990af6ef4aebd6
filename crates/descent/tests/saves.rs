//! Crash-safe saves: a process killed (SIGKILL) at random moments while it saves a model
//! and its optimizer state over and over leaves files that are always complete — the
//! model loads, and is one version whole — and the model's own optimizer state, never one
//! from another save.

use descent::nn::{
    load_model, load_state, save_model, state_path, Activation, Loss, Mlp, ModelMeta, TrainConfig,
    TrainState,
};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const LOOP_ENV: &str = "DESCENT_SAVE_LOOP_DIR";

fn net() -> Mlp {
    Mlp::new(&[2, 256, 256, 2], &[Activation::Tanh], Loss::CrossEntropy).unwrap()
}

/// Version `v` of the weights: every weight is `v`.
fn save_version(path: &Path, v: u64) {
    let net = net();
    let params = vec![v as f64; net.num_params()];
    let mut st = TrainState::new(params.clone());
    st.epoch = v as usize;
    let meta = ModelMeta::default();
    save_model(
        path,
        &net,
        &params,
        "f64",
        &meta,
        Some((&st, &TrainConfig::default())),
    )
    .unwrap();
}

/// The child: saves versions 1, 2, 3, … until it is killed. Run only by the test below.
#[test]
#[ignore = "the child process of sigkill_during_saves_leaves_whole_files"]
fn child_saves_until_killed() {
    let Some(dir) = std::env::var_os(LOOP_ENV) else {
        return;
    };
    let path = Path::new(&dir).join("model.safetensors");
    for v in 1.. {
        save_version(&path, v);
    }
}

#[test]
fn sigkill_during_saves_leaves_whole_files() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("descent-sigkill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    save_version(&path, 0);
    let exe = std::env::current_exe().unwrap();
    let (mut resumable, mut killed_mid_write) = (0, 0);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let trials = 200;
    for _ in 0..trials {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_saves_until_killed",
                "--nocapture",
            ])
            .env(LOOP_ENV, &dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        std::thread::sleep(Duration::from_micros(2_000 + (seed >> 33) % 25_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The model is whole: it loads, and every weight is one version.
        let m = load_model(&path).unwrap();
        let v = m.params[0];
        assert!(m.params.iter().all(|p| *p == v), "a model mixing versions");
        let (st, _) = load_state(&path).unwrap_or_else(|e| {
            let files: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            panic!("{e}: {files:?}")
        });
        assert_eq!(st.epoch as f64, v, "a state from another save was loaded");
        assert!(st.params.iter().all(|p| *p == v));
        resumable += 1;
        let temporaries = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp-")
            })
            .count();
        killed_mid_write += temporaries.min(1);
    }
    // A later save removes what a killed one left behind.
    save_version(&path, 0);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    // A state from another save is refused, never resumed.
    let other = dir.join("other.safetensors");
    save_version(&other, 7);
    std::fs::copy(state_path(&other), state_path(&path)).unwrap();
    let e = load_state(&path).unwrap_err().to_string();
    assert!(e.contains("different saves"), "{e}");
    assert!(state_path(&path).exists());
    eprintln!(
        "{trials} kills: {resumable} models with their own state, {killed_mid_write} left a \
         temporary file (removed by the next save)"
    );
    assert_eq!(resumable, trials);
    std::fs::remove_dir_all(&dir).ok();
}
