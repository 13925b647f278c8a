//! Synchronisation objects by address: the clock each atomic, lock or other
//! synchronising address publishes.
//!
//! The hot case is one address used over and over by a few threads (a ring
//! buffer's head and tail, a lock word). So each object is a [`SyncVar`] with
//! its own small spin lock, and each thread keeps a direct-mapped cache of
//! the objects it used last: a hit locks the object and touches nothing
//! shared but it. The address → object table (sharded, behind mutexes) is
//! only consulted on a miss.
//!
//! Objects are never returned to the allocator. When the memory holding a
//! synchronising address is freed, its object is emptied, unhooked from the
//! table and kept on a free list for the next address; a stale cache entry
//! is caught by re-checking the object's address under its lock.

use std::cell::UnsafeCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};

use racecheck_detector::sync::SyncClock;
use racecheck_detector::VClock;

/// The clock published at one address, behind its own lock.
///
/// `seq` is both the lock and a sequence count (a seqlock): odd while a
/// writer holds it. A small clock (up to `INLINE` components, the common
/// case of a few threads) lives in `inline`, where an atomic load reads it
/// without taking the lock: read `seq`, do the load, read the clock, and
/// keep the result only if `seq` did not change meanwhile (see [`read`]).
/// A bigger one lives in `big`, behind the lock only. Objects are aligned
/// to two cache lines so that two busy objects never share one.
///
/// Every lock moves `seq` on (it never goes back, nor wraps in practice,
/// across reuse for other addresses too), so an even count names one state
/// of the clock: a thread whose clock already covers that state may skip
/// reading it (see [`Cache::covered`]).
#[repr(align(128))]
pub struct SyncVar {
    seq: AtomicU64,
    /// The address this object stands for now; 0 while on the free list.
    /// Written only under the lock.
    addr: AtomicUsize,
    /// Components in `inline`, or `BIG` when the clock is in `big`.
    len: AtomicUsize,
    inline: [AtomicU64; INLINE],
    big: UnsafeCell<SyncClock>,
}

const INLINE: usize = 8;
const BIG: usize = usize::MAX;

// SAFETY: `big` is only reached through a `Locked` guard, which holds the
// object's lock; every other field is atomic.
unsafe impl Sync for SyncVar {}

/// Wait politely: spin a little, then let a preempted holder run.
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

impl SyncVar {
    /// Copy the first `len` inline components into `into` (`len <= INLINE`).
    fn load_inline(&self, len: usize, into: &mut SyncClock) {
        let mut buf = [0u64; INLINE];
        for (b, cell) in buf.iter_mut().zip(&self.inline[..len]) {
            *b = cell.load(Relaxed);
        }
        into.clock.assign_slice(&buf[..len]);
    }

    fn lock(&'static self) -> Locked {
        let mut spins = 0u32;
        loop {
            let s = self.seq.load(Relaxed);
            if s & 1 == 0 && self.seq.compare_exchange_weak(s, s + 1, Acquire, Relaxed).is_ok() {
                // Whatever the holder writes now (the clock, the user's
                // atomic) is ordered after the odd count (see `read`).
                fence(Release);
                return Locked(self, s + 2);
            }
            backoff(&mut spins);
        }
    }
}

/// A locked object, and the count that unlocks it; unlocks when dropped.
pub struct Locked(&'static SyncVar, u64);

impl Locked {
    /// Run `f` on the object's clock. A small clock is copied into `scratch`
    /// for it and written back after.
    pub fn with_clock<R>(&mut self, scratch: &mut SyncClock, f: impl FnOnce(&mut SyncClock) -> R) -> R {
        let v = self.0;
        let len = v.len.load(Relaxed);
        if len == BIG {
            // SAFETY: we hold the object's lock, so this is the only reference.
            return f(unsafe { &mut *v.big.get() });
        }
        v.load_inline(len, scratch);
        let r = f(scratch);
        self.assign(&scratch.clock);
        if scratch.clock.as_slice().len() > INLINE {
            // The object holds its big clock from now on, and the scratch
            // space need not keep that much room for every thread (ten
            // thousand threads at one barrier would each keep a copy).
            scratch.clock = VClock::new();
        }
        r
    }

    /// Replace the object's clock by `clock`.
    pub fn assign(&mut self, clock: &VClock) {
        let v = self.0;
        let c = clock.as_slice();
        if c.len() <= INLINE {
            for (cell, &x) in v.inline.iter().zip(c) {
                cell.store(x, Relaxed);
            }
            v.len.store(c.len(), Relaxed);
        } else {
            // SAFETY: we hold the object's lock, so this is the only reference.
            unsafe { (*v.big.get()).clock.assign(clock) };
            v.len.store(BIG, Relaxed);
        }
    }

    /// Forget the clock.
    fn clear(&mut self) {
        self.0.len.store(0, Relaxed);
        // SAFETY: we hold the object's lock, so this is the only reference.
        unsafe { (*self.0.big.get()).clock.clear() };
    }

    fn addr(&self) -> usize {
        self.0.addr.load(Relaxed)
    }

    /// The count naming the state the object is left in when unlocked.
    pub fn state_after(&self) -> u64 {
        self.1
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // A plain store: only the holder writes `seq`.
        self.0.seq.store(self.1, Release);
    }
}

/// A thread's cache of the objects it used last, direct-mapped by address.
pub struct Cache(Box<[Entry; CACHE]>);

/// An address and its object; or, with no object, the generation of the
/// address's table shard when the address was seen to have none.
/// `covered`: a state of the object (an even `seq`) whose clock the
/// thread's own clock includes (it acquired it, or stored it itself); odd
/// when none is known.
#[derive(Copy, Clone)]
struct Entry {
    addr: usize,
    var: Option<&'static SyncVar>,
    absent_gen: u64,
    covered: u64,
}

const CACHE: usize = 256;
const NOT_COVERED: u64 = 1;

impl Default for Cache {
    fn default() -> Cache {
        Cache(Box::new([Entry { addr: 0, var: None, absent_gen: u64::MAX, covered: NOT_COVERED }; CACHE]))
    }
}

impl Cache {
    fn entry(&mut self, addr: usize) -> &mut Entry {
        &mut self.0[hash(addr) >> 56 & (CACHE - 1)]
    }

    /// The thread's clock now includes state `seq` of the object at `addr`
    /// (found through this cache just before).
    pub fn covered(&mut self, addr: usize, seq: u64) {
        let e = self.entry(addr);
        if e.addr == addr && e.var.is_some() {
            e.covered = seq;
        }
    }
}

/// Every bit of the address counts: atomics often share a granule (a
/// `Mutex`'s futex word and its poison flag), and two objects that always
/// fall in the same cache entry would evict each other on every use.
#[inline]
fn hash(addr: usize) -> usize {
    addr.wrapping_mul(0x9E3779B97F4A7C15)
}

#[derive(Default)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = hash(n) as u64;
    }
}

pub type Table = HashMap<usize, &'static SyncVar, BuildHasherDefault<AddrHasher>>;

/// One part of the address → object table. `gen` counts the objects
/// created in it, so a thread can trust its cached "no object here" for as
/// long as `gen` has not moved.
struct Shard {
    map: Mutex<Table>,
    gen: AtomicU64,
}

const SHARDS: usize = 64;
static TABLE: [Shard; SHARDS] = [const {
    Shard { map: Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())), gen: AtomicU64::new(0) }
}; SHARDS];
/// Emptied objects, ready for another address.
static FREE: Mutex<Vec<&'static SyncVar>> = Mutex::new(Vec::new());
/// Every object ever made, for `lock_all`.
static ALL: Mutex<Vec<&'static SyncVar>> = Mutex::new(Vec::new());

fn shard_of(addr: usize) -> &'static Shard {
    &TABLE[(hash(addr) >> 58) % SHARDS]
}

fn lock_map(shard: &'static Shard) -> MutexGuard<'static, Table> {
    shard.map.lock().unwrap_or_else(|e| e.into_inner())
}

fn fresh_var() -> &'static SyncVar {
    if let Some(v) = FREE.lock().unwrap_or_else(|e| e.into_inner()).pop() {
        return v;
    }
    let v: &'static SyncVar = Box::leak(Box::new(SyncVar {
        seq: AtomicU64::new(0),
        addr: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        inline: [const { AtomicU64::new(0) }; INLINE],
        big: UnsafeCell::new(SyncClock::default()),
    }));
    ALL.lock().unwrap_or_else(|e| e.into_inner()).push(v);
    v
}

/// What [`find`] found.
pub enum Found {
    /// The object, locked.
    Var(Locked),
    /// No object at that address. The table shard stays locked meanwhile,
    /// so none can appear until this is dropped: an operation done while
    /// holding it cannot read a value stored by a creator of the object.
    Absent(#[allow(dead_code)] MutexGuard<'static, Table>),
}

impl Found {
    pub fn var(&mut self) -> Option<&mut Locked> {
        match self {
            Found::Var(v) => Some(v),
            Found::Absent(_) => None,
        }
    }
}

/// The object at `addr`, locked; created (with an empty clock) if `create`
/// and it does not exist yet.
#[inline]
pub fn find(cache: &mut Cache, addr: usize, create: bool) -> Found {
    let entry = cache.entry(addr);
    if let Some(v) = entry.var.filter(|_| entry.addr == addr) {
        let locked = v.lock();
        if locked.addr() == addr {
            return Found::Var(locked);
        }
    }
    let shard = shard_of(addr);
    let found = find_slow(shard, addr, create);
    *entry = match &found {
        Found::Var(v) => Entry { addr, var: Some(v.0), absent_gen: u64::MAX, covered: NOT_COVERED },
        // Stable while the shard is locked.
        Found::Absent(_) => Entry { addr, var: None, absent_gen: shard.gen.load(Relaxed), covered: NOT_COVERED },
    };
    found
}

/// What a load without the lock ([`read`]) found.
pub enum Read<T> {
    /// The value, read while the object was in a state the thread's clock
    /// already covers: no clock to take in.
    Covered(T),
    /// The value, with the clock that goes with it in `into`, and the state
    /// it was read in.
    Clock(T, u64),
}

/// A load without the lock, for an address in the thread's cache: runs
/// `load` (the real atomic load, which may run more than once) and puts the
/// clock that goes with the value it read into `into` (empty when the
/// address has no object), unless the thread's clock covers it already.
/// `None`, with `load` not run, when the caller must take the locked path
/// ([`find`]) instead: not cached, the clock too big, or an object created
/// since the thread saw there was none.
#[inline]
pub fn read<T>(cache: &Cache, addr: usize, into: &mut SyncClock, mut load: impl FnMut() -> T) -> Option<Read<T>> {
    let entry = cache.0[hash(addr) >> 56 & (CACHE - 1)];
    if entry.addr != addr {
        return None;
    }
    let Some(v) = entry.var else {
        // Creating an object bumps `gen` before anything is stored through
        // it (the creator then locks the object, which fences): a load that
        // saw such a store sees the bump.
        let gen = &shard_of(addr).gen;
        if gen.load(Acquire) != entry.absent_gen {
            return None;
        }
        let value = load();
        fence(Acquire);
        if gen.load(Relaxed) != entry.absent_gen {
            return None;
        }
        return Some(Read::Covered(value));
    };
    let mut spins = 0u32;
    loop {
        let s = v.seq.load(Acquire);
        if s & 1 == 1 {
            backoff(&mut spins);
            continue;
        }
        let covered = s == entry.covered;
        let len = v.len.load(Relaxed);
        if !covered && (v.addr.load(Relaxed) != addr || len > INLINE) {
            return None;
        }
        let value = load();
        if !covered {
            // Kept only if validated below; the caller reads `into` only then.
            v.load_inline(len, into);
        }
        // The reads above happen before the second read of the count: if no
        // writer started meanwhile, they saw one writer's complete state
        // (and the value goes with state `s`).
        fence(Acquire);
        if v.seq.load(Relaxed) == s {
            return Some(if covered { Read::Covered(value) } else { Read::Clock(value, s) });
        }
        backoff(&mut spins);
    }
}

#[cold]
fn find_slow(shard: &'static Shard, addr: usize, create: bool) -> Found {
    loop {
        let mut table = lock_map(shard);
        let v = match table.get(&addr) {
            Some(&v) => v,
            None if !create => return Found::Absent(table),
            None => {
                shard.gen.fetch_add(1, Release);
                let v = fresh_var();
                let mut locked = v.lock();
                locked.clear();
                v.addr.store(addr, Relaxed);
                table.insert(addr, v);
                return Found::Var(locked);
            }
        };
        drop(table);
        let locked = v.lock();
        if locked.addr() == addr {
            return Found::Var(locked);
        }
        // Freed and reused for another address between the table lookup
        // and the lock: look again.
    }
}

/// Forget the object at `addr` (its memory was freed).
pub fn remove(addr: usize) {
    let Some(v) = lock_map(shard_of(addr)).remove(&addr) else { return };
    {
        let mut locked = v.lock();
        locked.clear();
        v.addr.store(0, Relaxed);
    }
    FREE.lock().unwrap_or_else(|e| e.into_inner()).push(v);
}

/// Forget the objects of every address in `[addr, addr + len)` (memory
/// whose shadow was dropped unread, beyond 1 GiB), found through the list of all
/// objects when it has at most one entry per granule of the range, so that
/// the search costs no more than reading the range's shadow would. With
/// more objects than that, they stay: a later atomic at a reused address
/// would start from the old clock, which can only hide a race.
pub fn remove_range(addr: usize, len: usize) {
    let end = addr.saturating_add(len);
    let doomed: Vec<usize> = {
        let all = ALL.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() > len / 8 {
            return;
        }
        all.iter().map(|v| v.addr.load(Relaxed)).filter(|a| (addr..end).contains(a)).collect()
    };
    for a in doomed {
        remove(a);
    }
}

/// Hold every lock of this module across `fork` (see `rt::fork`), in the
/// order the module nests them: table shards, the free list, the list of
/// all objects, then each object.
pub fn lock_all(held: &mut Vec<Box<dyn std::any::Any>>) {
    for s in &TABLE {
        held.push(Box::new(lock_map(s)));
    }
    held.push(Box::new(FREE.lock().unwrap_or_else(|e| e.into_inner())));
    let all = ALL.lock().unwrap_or_else(|e| e.into_inner());
    for &v in all.iter() {
        held.push(Box::new(v.lock()));
    }
    held.push(Box::new(all));
}
