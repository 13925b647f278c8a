//! File descriptors as synchronisation, as ThreadSanitizer's fd
//! interceptors model them: what a thread did before writing to a pipe,
//! socket or eventfd happens before what another thread does after reading
//! it.
//!
//! `fd-sync fixed`: data handed over through a libc pipe, std's
//! `io::pipe`, a `UnixStream` pair, an eventfd, and a pipe closed by the
//! writer (the reader sees end-of-file). Silent.
//! `fd-sync racy`: a pipe and an eventfd each signalled before the write
//! they should publish. Two races.
use racecheck::race_check;
use std::cell::UnsafeCell;
use std::io::{Read, Write};
use std::thread;
use std::time::Duration;

struct Data(UnsafeCell<[u64; 4]>);
unsafe impl Sync for Data {}
static DATA: Data = Data(UnsafeCell::new([0; 4]));

/// Only so each report reads the same on every run: sleeping orders nothing.
fn later() {
    thread::sleep(Duration::from_millis(50));
}

#[race_check]
mod scenarios {
    use super::*;

    fn data() -> *mut [u64; 4] {
        DATA.0.get()
    }

    /// A libc pipe: the writer sets the data, then writes a byte (racy:
    /// writes the byte first); the reader reads the byte, then the data.
    pub fn libc_pipe(racy: bool) {
        let mut fds = [0; 2];
        unsafe { assert_eq!(libc::pipe(fds.as_mut_ptr()), 0) };
        let (r, w) = (fds[0], fds[1]);
        let t = thread::spawn(move || unsafe {
            if racy {
                libc::write(w, b"x".as_ptr().cast(), 1);
            }
            (*data())[0] = 1;
            if !racy {
                libc::write(w, b"x".as_ptr().cast(), 1);
            }
        });
        let mut byte = [0u8; 1];
        unsafe {
            assert_eq!(libc::read(r, byte.as_mut_ptr().cast(), 1), 1);
            if racy {
                later();
            }
            let v = (*data())[0];
            std::hint::black_box(v);
        }
        t.join().unwrap();
        unsafe {
            libc::close(r);
            libc::close(w);
        }
    }

    /// An eventfd counter: written after the data (racy: before).
    pub fn eventfd(racy: bool) {
        let fd = unsafe { libc::eventfd(0, 0) };
        assert!(fd >= 0);
        let t = thread::spawn(move || unsafe {
            if racy {
                libc::eventfd_write(fd, 1);
            }
            (*data())[1] = 2;
            if !racy {
                libc::eventfd_write(fd, 1);
            }
        });
        let mut n: libc::eventfd_t = 0;
        unsafe {
            assert_eq!(libc::eventfd_read(fd, &mut n), 0);
            if racy {
                later();
            }
            let v = (*data())[1];
            std::hint::black_box(v);
        }
        t.join().unwrap();
        unsafe { libc::close(fd) };
    }

    /// std's `io::pipe`, `UnixStream::pair` and end-of-file after a close.
    pub fn std_streams() {
        let (mut r, mut w) = std::io::pipe().unwrap();
        let t = thread::spawn(move || {
            unsafe { (*data())[2] = 3 };
            w.write_all(b"go").unwrap();
            // Dropping `w` closes the pipe: the reader's next read is EOF.
        });
        let mut buf = Vec::new();
        r.read_to_end(&mut buf).unwrap();
        assert_eq!(unsafe { (*data())[2] }, 3);
        t.join().unwrap();

        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let t = thread::spawn(move || {
            unsafe { (*data())[3] = 4 };
            a.write_all(b"!").unwrap();
            let mut back = [0u8; 1];
            a.read_exact(&mut back).unwrap();
            assert_eq!(unsafe { (*data())[3] }, 5);
        });
        let mut got = [0u8; 1];
        b.read_exact(&mut got).unwrap();
        unsafe { (*data())[3] += 1 };
        b.write_all(b"!").unwrap();
        t.join().unwrap();
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("fixed") => {
            scenarios::libc_pipe(false);
            scenarios::eventfd(false);
            scenarios::std_streams();
        }
        Some("racy") => {
            scenarios::libc_pipe(true);
            scenarios::eventfd(true);
        }
        _ => eprintln!("usage: fd-sync racy|fixed"),
    }
}
