//! Receivers, `&mut` arguments and fields of calls' results, in the shapes
//! real code has them, keep building and behaving when annotated: generic
//! code, user types with std's method names, moves out of a returned
//! temporary, borrows that outlive a guard's field access, `&mut` to an
//! unsized place.
#![deny(warnings)]
use racecheck::race_check;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

pub struct Bag<T> {
    items: Vec<T>,
    index: HashMap<u64, usize>,
    last: Option<T>,
}

pub struct Named {
    pub name: String,
    pub id: u64,
}

/// A user type with std's method names, taking `&self`.
pub struct Queue(Mutex<Vec<u64>>);

impl Queue {
    pub fn push(&self, v: u64) {
        self.0.lock().unwrap().push(v);
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn make() -> Named {
    Named { name: "made".to_string(), id: 9 }
}

fn fill(s: &mut [u64], v: u64) {
    for x in s {
        *x = v;
    }
}

fn show(o: Option<&u64>) -> u64 {
    o.copied().unwrap_or(0)
}

#[race_check]
impl<T: Clone> Bag<T> {
    pub fn add(&mut self, k: u64, v: T) {
        self.index.insert(k, self.items.len());
        self.items.push(v.clone());
        self.last.replace(v);
    }

    pub fn get(&self, k: u64) -> Option<&T> {
        self.index.get(&k).map(|&i| &self.items[i])
    }

    pub fn take_last(&mut self) -> Option<T> {
        self.last.take()
    }
}

#[race_check]
pub fn exercise(q: *const Queue, cell: &RefCell<Vec<u64>>, m: &Mutex<Named>, buf: *mut Vec<u64>) -> u64 {
    unsafe {
        (*q).push(1);
        let n = (&*q).len() as u64;
        let name = make().name;
        let id = make().id;
        let locked = m.lock().unwrap().id;
        let first = show(cell.borrow().first());
        (*buf).resize(4, 0);
        fill(&mut (&mut *buf)[1..], 5);
        (&mut (&mut *buf)[..2]).copy_from_slice(&[7, 8]);
        (*buf).sort_unstable();
        m.lock().unwrap().name.push('!');
        n + name.len() as u64 + id + locked + first + (&*buf)[3] + (&*buf).len() as u64
    }
}

fn main() {
    let mut b = Bag { items: vec![], index: HashMap::new(), last: None };
    b.add(1, "one".to_string());
    assert_eq!(b.get(1).map(|s| s.as_str()), Some("one"));
    assert_eq!(b.take_last().as_deref(), Some("one"));
    let q = Queue(Mutex::new(vec![]));
    let cell = RefCell::new(vec![3]);
    let m = Mutex::new(Named { name: "m".into(), id: 2 });
    let mut buf = vec![];
    assert_eq!(exercise(&q, &cell, &m, &mut buf), 1 + 4 + 9 + 2 + 3 + 8 + 4);
    assert_eq!(buf, vec![5, 5, 7, 8]);
    assert_eq!(m.lock().unwrap().name, "m!");
    assert!(!q.is_empty());
}
