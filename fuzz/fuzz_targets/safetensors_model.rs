#![no_main]
// The body is descent::fuzzing::safetensors_model, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::safetensors_model(data));
