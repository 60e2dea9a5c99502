//! The lazy DAG of pending secret operations.
//!
//! Secret-valued instructions whose inputs are not all materialised, and every communication
//! instruction, add a node here instead of running. A node records its operation, its inputs (as
//! [`SecVec`]s, which may name earlier nodes), its output length and its *depth*: the number of
//! communication nodes on the longest path to it (a communication node counts itself, a local node
//! does not). [`crate::flush`] evaluates the DAG depth by depth, merging all communication nodes
//! of one kind and parameters at one depth into a single engine call.
//!
//! **Architecture Invariant:** nodes only name earlier nodes, so creation order is a topological
//! order, and the depth of a node is fixed when it is created.
//!
//! **Architecture Invariant:** the DAG's shape depends only on the program and on public values,
//! never on shares or private inputs, so all parties build the same DAG and flush it at the same
//! points. The values a node carries for a private input are held only by the inputting party.

use std::rc::Rc;

use field::Fp;
use protocol::ShareVec;

use crate::local::LocalOp;
use crate::value::{NodeId, Piece, SecVec};

/// A communication kernel with its parameters: the batching key. Nodes with equal keys at equal
/// depth are evaluated by one engine call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum CommKind {
    /// Private inputs (of any party): one `Engine::input` round for all of them.
    Input,
    Mul,
    Ltz {
        k: u32,
    },
    Eqz {
        k: u32,
    },
    Trunc {
        k: u32,
        m: u32,
    },
    TruncPr {
        k: u32,
        m: u32,
    },
    Mod2m {
        k: u32,
        m: u32,
    },
    /// Output: m bit vectors of the node's element count, bit-major.
    BitDec {
        k: u32,
        m: u32,
    },
    FixDiv {
        k: u32,
        f: u32,
    },
    IntDiv {
        k: u32,
    },
}

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Comm(CommKind),
    Local(LocalOp),
}

/// What an input node inputs.
#[derive(Clone)]
pub(crate) struct InputSpec {
    pub player: usize,
    /// The values, on the inputting party only. Secret: never logged.
    pub values: Option<Vec<Fp>>,
}

pub(crate) struct Node {
    pub op: Op,
    pub inputs: Vec<SecVec>,
    /// Output length in elements.
    pub len: usize,
    pub depth: u32,
    pub input: Option<InputSpec>,
    pub result: Option<Rc<ShareVec>>,
    /// (function, instruction) that created the node, for error messages.
    pub site: (u32, u32),
}

/// The DAG; see the module documentation.
#[derive(Default)]
pub(crate) struct Dag {
    pub nodes: Vec<Node>,
    /// Sum of the output lengths of all nodes.
    pending_elems: usize,
}

impl Dag {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub(crate) fn pending_elements(&self) -> usize {
        self.pending_elems
    }

    /// The depth of a value: the deepest node it names (0 if materialised).
    pub(crate) fn depth_of(&self, v: &SecVec) -> u32 {
        v.pieces()
            .iter()
            .map(|p| match p {
                Piece::Node { id, .. } => self.nodes[*id as usize].depth,
                Piece::Val { .. } => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Adds a node and returns its id.
    pub(crate) fn add(
        &mut self,
        op: Op,
        inputs: Vec<SecVec>,
        len: usize,
        input: Option<InputSpec>,
        site: (u32, u32),
    ) -> NodeId {
        let base = inputs.iter().map(|v| self.depth_of(v)).max().unwrap_or(0);
        let depth = match op {
            Op::Comm(_) => base + 1,
            Op::Local(_) => base,
        };
        let id = self.nodes.len() as NodeId;
        self.nodes.push(Node {
            op,
            inputs,
            len,
            depth,
            input,
            result: None,
            site,
        });
        self.pending_elems += len;
        id
    }

    /// The shares of `v`; every node it names must have been evaluated.
    pub(crate) fn materialize(&self, v: &SecVec) -> ShareVec {
        if let [Piece::Val { data, start, len }] = v.pieces() {
            if *start == 0 && *len == data.len() {
                return (**data).clone();
            }
        }
        let mut vs = Vec::with_capacity(v.len());
        let mut ms = Vec::with_capacity(v.len());
        for p in v.pieces() {
            let (data, start, len) = match p {
                Piece::Val { data, start, len } => (data, *start, *len),
                Piece::Node { id, start, len } => (
                    self.nodes[*id as usize]
                        .result
                        .as_ref()
                        .expect("node evaluated before its users"),
                    *start,
                    *len,
                ),
            };
            vs.extend_from_slice(&data.value_shares()[start..start + len]);
            ms.extend_from_slice(&data.mac_shares()[start..start + len]);
        }
        ShareVec::from_parts(vs, ms)
    }

    /// `v` with every node piece replaced by the node's (evaluated) output, without copying.
    pub(crate) fn resolve(&self, v: &SecVec) -> SecVec {
        let mut out = SecVec::default();
        for p in v.pieces() {
            match p {
                Piece::Val { .. } => out.push(p.clone()),
                Piece::Node { id, start, len } => {
                    let data = self.nodes[*id as usize]
                        .result
                        .clone()
                        .expect("node evaluated before resolving");
                    out.push(Piece::Val {
                        data,
                        start: *start,
                        len: *len,
                    });
                }
            }
        }
        out
    }

    /// The output of evaluated node `id`.
    pub(crate) fn result(&self, id: NodeId) -> &Rc<ShareVec> {
        self.nodes[id as usize]
            .result
            .as_ref()
            .expect("node evaluated")
    }

    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
        self.pending_elems = 0;
    }
}
