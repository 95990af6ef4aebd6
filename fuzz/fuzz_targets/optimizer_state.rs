#![no_main]
// The body is descent::fuzzing::optimizer_state, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::optimizer_state(data));
