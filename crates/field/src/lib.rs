//! GF(p) arithmetic (being written).
