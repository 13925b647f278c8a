#[allow(unused_braces)]
fn pointer_calls(p: *mut u64, c: &Cell<u64>, lock: &RwLock<u64>) -> u64 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "pointer_calls"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            std::ptr::write(
                racecheck::__rt::note_write(
                    p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "pointer_calls"),
                            file: "/src/lib.rs",
                            line: 4u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                ),
                1,
            );
            ({
                racecheck::__rt::Probe(&p.add(2))
                    .note_write(
                        1usize,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "pointer_calls"),
                                file: "/src/lib.rs",
                                line: 5u32,
                                col: 18u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                p.add(2).write(3)
            });
            (match (p, p.add(4), 2) {
                (__racecheck_s, __racecheck_d, __racecheck_n) => {
                    racecheck::__rt::note_copy(
                        __racecheck_s,
                        __racecheck_d,
                        __racecheck_n,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "pointer_calls"),
                                file: "/src/lib.rs",
                                line: 6u32,
                                col: 9u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                    std::ptr::copy_nonoverlapping(
                        __racecheck_s,
                        __racecheck_d,
                        __racecheck_n,
                    )
                }
            });
            ({
                racecheck::__rt::Probe(&c)
                    .note_write(
                        1usize,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "pointer_calls"),
                                file: "/src/lib.rs",
                                line: 7u32,
                                col: 11u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                c.set(
                    ({
                        racecheck::__rt::Probe(&c)
                            .note_read(
                                1usize,
                                {
                                    static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                        func: concat!(module_path!(), "::", "pointer_calls"),
                                        file: "/src/lib.rs",
                                        line: 7u32,
                                        col: 17u32,
                                    };
                                    &__RACECHECK_SITE
                                },
                            );
                        c.get()
                    }) + 1,
                )
            });
            (match (1) {
                __racecheck_value => {
                    match (
                        ({
                            racecheck::__rt::Probe(&lock)
                                .note_write(
                                    1usize,
                                    {
                                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                            func: concat!(module_path!(), "::", "pointer_calls"),
                                            file: "/src/lib.rs",
                                            line: 8u32,
                                            col: 15u32,
                                        };
                                        &__RACECHECK_SITE
                                    },
                                );
                            lock.write()
                        })
                            .unwrap(),
                    ) {
                        #[allow(unused_mut)]
                        (mut __racecheck_h0,) => {
                            *{
                                if false {
                                    #[allow(static_mut_refs)]
                                    let _ = &*__racecheck_h0;
                                }
                                racecheck::__rt::update_place(
                                    &raw mut *__racecheck_h0,
                                    {
                                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                            func: concat!(module_path!(), "::", "pointer_calls"),
                                            file: "/src/lib.rs",
                                            line: 8u32,
                                            col: 9u32,
                                        };
                                        &__RACECHECK_SITE
                                    },
                                )
                            } += __racecheck_value;
                        }
                    }
                }
            });
            std::ptr::read_volatile(
                racecheck::__rt::note_read(
                    p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "pointer_calls"),
                            file: "/src/lib.rs",
                            line: 9u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                ),
            )
        }
    }
}
