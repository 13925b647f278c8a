#[allow(unused_braces)]
fn receivers(
    p: *mut Option<Box<u64>>,
    v: *mut Vec<u64>,
    m: *mut HashMap<u64, u64>,
    a: *mut [u64; 8],
) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "receivers"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            let _ = ({
                racecheck::__rt::Probe(&(*p))
                    .note_write(
                        1usize,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "receivers"),
                                file: "/src/lib.rs",
                                line: 4u32,
                                col: 22u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                racecheck::__rt::Recv(&raw const *p)
                    .take({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 4u32,
                            col: 22u32,
                        };
                        &__RACECHECK_SITE
                    });
                (*p).take()
            });
            ({
                racecheck::__rt::Recv(&raw const *v)
                    .push({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 5u32,
                            col: 14u32,
                        };
                        &__RACECHECK_SITE
                    });
                (*v).push(1)
            });
            let _ = ({
                racecheck::__rt::Probe(&(*m))
                    .note_read(
                        1usize,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "receivers"),
                                file: "/src/lib.rs",
                                line: 6u32,
                                col: 22u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                racecheck::__rt::Recv(&raw const *m)
                    .get({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 6u32,
                            col: 22u32,
                        };
                        &__RACECHECK_SITE
                    });
                (*m).get(&1)
            });
            ({
                racecheck::__rt::Recv(&raw const *v)
                    .sort_unstable({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 7u32,
                            col: 14u32,
                        };
                        &__RACECHECK_SITE
                    });
                (*v).sort_unstable()
            });
            racecheck::__rt::note_write_ref(
                    &mut (*a)[..4],
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 8u32,
                            col: 15u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
                .copy_from_slice(&[0; 4]);
            ({
                racecheck::__rt::Recv(&raw const (*a)[2..])
                    .fill({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 9u32,
                            col: 19u32,
                        };
                        &__RACECHECK_SITE
                    });
                (*a)[2..].fill(0)
            });
            let _ = mem::take(
                racecheck::__rt::note_write_ref(
                    &mut *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 10u32,
                            col: 17u32,
                        };
                        &__RACECHECK_SITE
                    },
                ),
            );
            reset(
                racecheck::__rt::note_write_ref(
                    &mut (*v)[1..],
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "receivers"),
                            file: "/src/lib.rs",
                            line: 11u32,
                            col: 20u32,
                        };
                        &__RACECHECK_SITE
                    },
                ),
            );
        }
    }
}
#[allow(unused_braces)]
fn call_fields(s: &S) -> u64 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "call_fields"),
        };
        &__RACECHECK_FN
    });
    {
        racecheck::__rt::then_mut(
                s.inner(),
                |__racecheck_r| {
                    racecheck::__rt::note_write(
                        &raw mut (*__racecheck_r).hits,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "call_fields"),
                                file: "/src/lib.rs",
                                line: 15u32,
                                col: 5u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                },
            )
            .hits += 1;
        racecheck::__rt::then_mut(
                s.inner(),
                |__racecheck_r| {
                    racecheck::__rt::note_write(
                        &raw mut (*__racecheck_r).total,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "call_fields"),
                                file: "/src/lib.rs",
                                line: 16u32,
                                col: 5u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                },
            )
            .total = 2;
        racecheck::__rt::then_ref(
                s.inner(),
                |__racecheck_r| {
                    racecheck::__rt::Recv(&raw const (*__racecheck_r).log)
                        .push({
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "call_fields"),
                                file: "/src/lib.rs",
                                line: 17u32,
                                col: 19u32,
                            };
                            &__RACECHECK_SITE
                        });
                },
            )
            .log
            .push(3);
        racecheck::__rt::then_ref(
                s.inner(),
                |__racecheck_r| {
                    let _ = racecheck::__rt::read_place(
                        &raw const (*__racecheck_r).hits,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "call_fields"),
                                file: "/src/lib.rs",
                                line: 18u32,
                                col: 5u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                },
            )
            .hits
            + racecheck::__rt::then_ref(
                    s.other(),
                    |__racecheck_r| {
                        let _ = racecheck::__rt::read_place(
                            &raw const (*__racecheck_r).hits,
                            {
                                static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                    func: concat!(module_path!(), "::", "call_fields"),
                                    file: "/src/lib.rs",
                                    line: 18u32,
                                    col: 22u32,
                                };
                                &__RACECHECK_SITE
                            },
                        );
                    },
                )
                .hits
    }
}
#[allow(unused_braces)]
fn chains(s: &S) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "chains"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            ({
                racecheck::__rt::Probe(&(*s.data.get()).as_mut_ptr())
                    .note_write(
                        1usize,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "chains"),
                                file: "/src/lib.rs",
                                line: 21u32,
                                col: 43u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                (*racecheck::__rt::then_ref(
                    ({
                        racecheck::__rt::Probe(&s.data)
                            .note_read(
                                1usize,
                                {
                                    static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                        func: concat!(module_path!(), "::", "chains"),
                                        file: "/src/lib.rs",
                                        line: 21u32,
                                        col: 23u32,
                                    };
                                    &__RACECHECK_SITE
                                },
                            );
                        racecheck::__rt::Recv(&raw const s.data)
                            .get({
                                static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                    func: concat!(module_path!(), "::", "chains"),
                                    file: "/src/lib.rs",
                                    line: 21u32,
                                    col: 23u32,
                                };
                                &__RACECHECK_SITE
                            });
                        s.data.get()
                    }),
                    |__racecheck_r| {
                        racecheck::__rt::Recv(&raw const *(*__racecheck_r))
                            .as_mut_ptr({
                                static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                    func: concat!(module_path!(), "::", "chains"),
                                    file: "/src/lib.rs",
                                    line: 21u32,
                                    col: 30u32,
                                };
                                &__RACECHECK_SITE
                            });
                    },
                ))
                    .as_mut_ptr()
                    .write(5)
            })
        }
        ({
            racecheck::__rt::Probe(&s.counter)
                .note_write(
                    1usize,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "chains"),
                            file: "/src/lib.rs",
                            line: 22u32,
                            col: 15u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
            s.counter
                .update(|x| {
                    let __racecheck_frame = racecheck::__rt::enter({
                        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                            name: concat!(module_path!(), "::", "chains::{{closure}}"),
                        };
                        &__RACECHECK_FN
                    });
                    x + 1
                })
        });
    }
}
#[allow(unused_braces)]
fn impure_roots(p: P<Option<u64>>, m: &Mutex<Vec<u64>>) -> usize {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "impure_roots"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            (*racecheck::__rt::then_ref(
                p.ptr(),
                |__racecheck_r| {
                    racecheck::__rt::Recv(&raw const *(*__racecheck_r))
                        .take({
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "impure_roots"),
                                file: "/src/lib.rs",
                                line: 25u32,
                                col: 25u32,
                            };
                            &__RACECHECK_SITE
                        });
                },
            ))
                .take()
        };
        m.lock().unwrap().push(1);
        (*racecheck::__rt::then_ref(
            m.lock().unwrap(),
            |__racecheck_r| {
                racecheck::__rt::Recv(&raw const *(*__racecheck_r))
                    .len({
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "impure_roots"),
                            file: "/src/lib.rs",
                            line: 27u32,
                            col: 26u32,
                        };
                        &__RACECHECK_SITE
                    });
            },
        ))
            .len()
    }
}
