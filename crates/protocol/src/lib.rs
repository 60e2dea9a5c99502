//! SPDZ online protocol (being written).
