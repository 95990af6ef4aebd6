pub mod argmin_peer;
