#![no_main]
// The body is descent::fuzzing::expr, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::expr(data));
