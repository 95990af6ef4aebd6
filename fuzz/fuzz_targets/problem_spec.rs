#![no_main]
// The body is descent::fuzzing::problem_spec, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::problem_spec(data));
