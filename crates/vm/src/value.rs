//! Register values: secret vectors that may still be pending in the DAG, clear vectors that may
//! still be waiting for an opening, and regint vectors.
//!
//! **Architecture Invariant:** a [`SecVec`] is a list of pieces, each either materialised shares
//! (a range of a reference-counted [`ShareVec`]) or a range of a DAG node's future output. Moves,
//! slices, concatenations, loads and stores only rearrange pieces; they never force evaluation.
//! After every flush the VM rewrites every piece that names a node into materialised shares, so
//! no piece outlives the DAG it points into.

use std::rc::Rc;

use field::Fp;
use protocol::ShareVec;

/// Index of a node in the current DAG.
pub(crate) type NodeId = u32;

/// A contiguous run of elements of a secret vector.
#[derive(Clone)]
pub(crate) enum Piece {
    /// Elements `start..start + len` of materialised shares.
    Val {
        data: Rc<ShareVec>,
        start: usize,
        len: usize,
    },
    /// Elements `start..start + len` of the output of a pending DAG node.
    Node {
        id: NodeId,
        start: usize,
        len: usize,
    },
}

impl Piece {
    pub(crate) fn len(&self) -> usize {
        match self {
            Piece::Val { len, .. } | Piece::Node { len, .. } => *len,
        }
    }

    fn sub(&self, from: usize, n: usize) -> Piece {
        match self {
            Piece::Val { data, start, .. } => Piece::Val {
                data: data.clone(),
                start: start + from,
                len: n,
            },
            Piece::Node { id, start, .. } => Piece::Node {
                id: *id,
                start: start + from,
                len: n,
            },
        }
    }
}

/// A secret register value: a vector of shares, some of which may be pending.
#[derive(Clone, Default)]
pub(crate) struct SecVec {
    pieces: Vec<Piece>,
    len: usize,
}

impl std::fmt::Debug for SecVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecVec(len={}, pieces={}, <redacted>)",
            self.len,
            self.pieces.len()
        )
    }
}

impl SecVec {
    pub(crate) fn from_shares(s: ShareVec) -> SecVec {
        let len = s.len();
        if len == 0 {
            return SecVec::default();
        }
        SecVec {
            pieces: vec![Piece::Val {
                data: Rc::new(s),
                start: 0,
                len,
            }],
            len,
        }
    }

    /// The whole output of node `id`, of `len` elements.
    pub(crate) fn node(id: NodeId, start: usize, len: usize) -> SecVec {
        let mut v = SecVec::default();
        v.push(Piece::Node { id, start, len });
        v
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// True when some element is still pending in the DAG.
    pub(crate) fn is_lazy(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Node { .. }))
    }

    /// Appends a piece, merging it with the last one when they are contiguous.
    pub(crate) fn push(&mut self, p: Piece) {
        if p.len() == 0 {
            return;
        }
        self.len += p.len();
        if let Some(last) = self.pieces.last_mut() {
            match (last, &p) {
                (
                    Piece::Val {
                        data: d1,
                        start: s1,
                        len: l1,
                    },
                    Piece::Val {
                        data: d2,
                        start: s2,
                        len: l2,
                    },
                ) if Rc::ptr_eq(d1, d2) && *s1 + *l1 == *s2 => {
                    *l1 += l2;
                    return;
                }
                (
                    Piece::Node {
                        id: i1,
                        start: s1,
                        len: l1,
                    },
                    Piece::Node {
                        id: i2,
                        start: s2,
                        len: l2,
                    },
                ) if i1 == i2 && *s1 + *l1 == *s2 => {
                    *l1 += l2;
                    return;
                }
                _ => {}
            }
        }
        self.pieces.push(p);
    }

    /// Elements `start..start + n` (the caller checks the range).
    pub(crate) fn slice(&self, start: usize, n: usize) -> SecVec {
        let mut out = SecVec::default();
        let end = start + n;
        let mut pos = 0;
        for p in &self.pieces {
            let (a, b) = (pos, pos + p.len());
            pos = b;
            if b <= start {
                continue;
            }
            if a >= end {
                break;
            }
            let from = start.max(a) - a;
            let to = end.min(b) - a;
            out.push(p.sub(from, to - from));
        }
        out
    }

    pub(crate) fn extend(&mut self, other: &SecVec) {
        for p in &other.pieces {
            self.push(p.clone());
        }
    }
}

/// A clear register value: ready, or the output of an opening not performed yet.
#[derive(Clone, Debug)]
pub(crate) enum ClearVal {
    Ready(Vec<Fp>),
    /// The output of pending opening `open`, of `len` elements.
    Pending {
        open: u32,
        len: usize,
    },
}

impl Default for ClearVal {
    fn default() -> Self {
        ClearVal::Ready(Vec::new())
    }
}

impl ClearVal {
    pub(crate) fn len(&self) -> usize {
        match self {
            ClearVal::Ready(v) => v.len(),
            ClearVal::Pending { len, .. } => *len,
        }
    }
}
