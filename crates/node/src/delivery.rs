//! The output-delivery protocol (ePrint 2015/1006).
// (being written)
