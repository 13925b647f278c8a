//! Locks, condition variables and semaphores of libc called directly (C
//! libraries, FFI, the `libc` crate), interposed with linker `--wrap`s as
//! ThreadSanitizer's interceptors do. std's own locks are futex-based and
//! never call these.
//!
//! A lock acquired is an acquire of the lock object's address, a lock
//! released a release into it; a condition wait releases its mutex before
//! waiting and acquires it after; `sem_post` releases into the semaphore and
//! a successful wait acquires it. Readers of an rwlock release into it too,
//! which can only order more, never less (hide a race, never invent one).

use std::ffi::c_int;

use super::{acquire, release, with_state};

/// Around an acquisition of the object at `addr`: acquire it once `real`
/// succeeded (returned 0).
fn acquiring(addr: usize, real: impl FnOnce() -> c_int) -> c_int {
    let rc = real();
    if rc == 0 {
        with_state(|st| acquire(st, addr));
    }
    rc
}

/// Around a release of the object at `addr`: release into it first.
fn releasing(addr: usize, real: impl FnOnce() -> c_int) -> c_int {
    with_state(|st| release(st, addr));
    real()
}

/// `__wrap_NAME` for each `NAME(TYPE)`, in a module of its own (each has
/// its own `__real_NAME`), calling it through `$around` (`acquiring` or
/// `releasing`).
macro_rules! wrap {
    ($around:ident: $($name:ident($ty:ty)),* $(,)?) => {$(
        pub mod $name {
            use super::*;
            extern "C" {
                #[link_name = concat!("__real_", stringify!($name))]
                fn real(p: *mut $ty) -> c_int;
            }
            /// # Safety
            /// Same contract as the libc function.
            #[export_name = concat!("__wrap_", stringify!($name))]
            pub unsafe extern "C" fn $name(p: *mut $ty) -> c_int {
                // SAFETY: forwarding the caller's argument unchanged.
                $around(p as usize, || unsafe { real(p) })
            }
        }
    )*};
}

wrap!(acquiring:
    pthread_mutex_lock(libc::pthread_mutex_t),
    pthread_mutex_trylock(libc::pthread_mutex_t),
    pthread_rwlock_rdlock(libc::pthread_rwlock_t),
    pthread_rwlock_tryrdlock(libc::pthread_rwlock_t),
    pthread_rwlock_wrlock(libc::pthread_rwlock_t),
    pthread_rwlock_trywrlock(libc::pthread_rwlock_t),
    pthread_spin_lock(libc::pthread_spinlock_t),
    pthread_spin_trylock(libc::pthread_spinlock_t),
    sem_wait(libc::sem_t),
    sem_trywait(libc::sem_t),
);

wrap!(releasing:
    pthread_mutex_unlock(libc::pthread_mutex_t),
    pthread_rwlock_unlock(libc::pthread_rwlock_t),
    pthread_spin_unlock(libc::pthread_spinlock_t),
    sem_post(libc::sem_t),
);

pub mod cond {
    use super::*;

    extern "C" {
        fn __real_pthread_cond_wait(c: *mut libc::pthread_cond_t, m: *mut libc::pthread_mutex_t) -> c_int;
        fn __real_pthread_cond_timedwait(
            c: *mut libc::pthread_cond_t,
            m: *mut libc::pthread_mutex_t,
            t: *const libc::timespec,
        ) -> c_int;
    }

    /// # Safety
    /// Same contract as `pthread_cond_wait`.
    #[no_mangle]
    pub unsafe extern "C" fn __wrap_pthread_cond_wait(c: *mut libc::pthread_cond_t, m: *mut libc::pthread_mutex_t) -> c_int {
        // SAFETY: forwarding the caller's arguments unchanged.
        let rc = releasing(m as usize, || unsafe { __real_pthread_cond_wait(c, m) });
        // The mutex is held again on return, whatever the result.
        with_state(|st| acquire(st, m as usize));
        rc
    }

    /// # Safety
    /// Same contract as `pthread_cond_timedwait`.
    #[no_mangle]
    pub unsafe extern "C" fn __wrap_pthread_cond_timedwait(
        c: *mut libc::pthread_cond_t,
        m: *mut libc::pthread_mutex_t,
        t: *const libc::timespec,
    ) -> c_int {
        // SAFETY: forwarding the caller's arguments unchanged.
        let rc = releasing(m as usize, || unsafe { __real_pthread_cond_timedwait(c, m, t) });
        with_state(|st| acquire(st, m as usize));
        rc
    }
}
