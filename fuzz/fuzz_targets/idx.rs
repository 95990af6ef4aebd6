#![no_main]
// The body is descent::fuzzing::idx, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::idx(data));
