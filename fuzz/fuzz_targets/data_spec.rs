#![no_main]
// The body is descent::fuzzing::data_spec, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::data_spec(data));
