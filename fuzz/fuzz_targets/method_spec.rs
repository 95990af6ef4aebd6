#![no_main]
// The body is descent::fuzzing::method_spec, shared with the corpus tests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| descent::fuzzing::method_spec(data));
