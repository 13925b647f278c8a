#[allow(unused_braces)]
fn rmw(p: *mut u64, n: usize, r: u64) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "rmw"),
        };
        &__RACECHECK_FN
    });
    {
        for i in 0..n {
            unsafe {
                let v = *p.add(i);
                (match (v.wrapping_add(r)) {
                    __racecheck_value => {
                        match (p.add(i),) {
                            #[allow(unused_mut)]
                            (mut __racecheck_h0,) => {
                                *{
                                    if false {
                                        #[allow(static_mut_refs)]
                                        let _ = &*__racecheck_h0;
                                    }
                                    racecheck::__rt::write_place(
                                        &raw mut *__racecheck_h0,
                                        {
                                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                                func: concat!(module_path!(), "::", "rmw"),
                                                file: "/src/lib.rs",
                                                line: 6u32,
                                                col: 13u32,
                                            };
                                            &__RACECHECK_SITE
                                        },
                                    )
                                } = __racecheck_value;
                            }
                        }
                    }
                });
            }
        }
    }
}
#[allow(unused_braces)]
fn read_twice(s: &S) -> u64 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "read_twice"),
        };
        &__RACECHECK_FN
    });
    {
        let a = ({
            racecheck::__rt::read(
                &raw const s.len,
                {
                    static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                        func: concat!(module_path!(), "::", "read_twice"),
                        file: "/src/lib.rs",
                        line: 11u32,
                        col: 13u32,
                    };
                    &__RACECHECK_SITE
                },
            );
            s.len
        });
        let b = s.len;
        a + b
    }
}
#[allow(unused_braces)]
fn read_after_write(p: *mut u64) -> u64 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "read_after_write"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &*p;
                }
                racecheck::__rt::write_place(
                    &raw mut *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "read_after_write"),
                            file: "/src/lib.rs",
                            line: 17u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = 1;
            *p + 1
        }
    }
}
#[allow(unused_braces)]
fn expression_rmw(p: *mut u64) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "expression_rmw"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &*p;
                }
                racecheck::__rt::write_place(
                    &raw mut *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "expression_rmw"),
                            file: "/src/lib.rs",
                            line: 22u32,
                            col: 14u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = *p * 2 + 1
        }
    }
}
#[allow(unused_braces)]
fn call_between(p: *mut u64) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "call_between"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            let v = ({
                racecheck::__rt::read(
                    &raw const *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "call_between"),
                            file: "/src/lib.rs",
                            line: 26u32,
                            col: 17u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                *p
            });
            sync();
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &*p;
                }
                racecheck::__rt::write_place(
                    &raw mut *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "call_between"),
                            file: "/src/lib.rs",
                            line: 28u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = v + 1;
        }
    }
}
#[allow(unused_braces)]
fn name_changed(p: *mut u64, mut i: usize) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "name_changed"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            let v = (match (p.add(i),) {
                (__racecheck_h0,) => {
                    racecheck::__rt::read(
                        &raw const *__racecheck_h0,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "name_changed"),
                                file: "/src/lib.rs",
                                line: 33u32,
                                col: 17u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                    *__racecheck_h0
                }
            });
            i += 1;
            (match (v) {
                __racecheck_value => {
                    match (p.add(i),) {
                        #[allow(unused_mut)]
                        (mut __racecheck_h0,) => {
                            *{
                                if false {
                                    #[allow(static_mut_refs)]
                                    let _ = &*__racecheck_h0;
                                }
                                racecheck::__rt::write_place(
                                    &raw mut *__racecheck_h0,
                                    {
                                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                            func: concat!(module_path!(), "::", "name_changed"),
                                            file: "/src/lib.rs",
                                            line: 35u32,
                                            col: 9u32,
                                        };
                                        &__RACECHECK_SITE
                                    },
                                )
                            } = __racecheck_value;
                        }
                    }
                }
            });
        }
    }
}
#[allow(unused_braces)]
fn shadowed(p: *mut u64, i: usize) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "shadowed"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            let v = (match (p.add(i),) {
                (__racecheck_h0,) => {
                    racecheck::__rt::read(
                        &raw const *__racecheck_h0,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "shadowed"),
                                file: "/src/lib.rs",
                                line: 40u32,
                                col: 17u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                    *__racecheck_h0
                }
            });
            let i = i + 1;
            (match (v) {
                __racecheck_value => {
                    match (p.add(i),) {
                        #[allow(unused_mut)]
                        (mut __racecheck_h0,) => {
                            *{
                                if false {
                                    #[allow(static_mut_refs)]
                                    let _ = &*__racecheck_h0;
                                }
                                racecheck::__rt::write_place(
                                    &raw mut *__racecheck_h0,
                                    {
                                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                            func: concat!(module_path!(), "::", "shadowed"),
                                            file: "/src/lib.rs",
                                            line: 42u32,
                                            col: 9u32,
                                        };
                                        &__RACECHECK_SITE
                                    },
                                )
                            } = __racecheck_value;
                        }
                    }
                }
            });
        }
    }
}
#[allow(unused_braces)]
fn other_place(p: *mut u64, q: *mut u64) {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "other_place"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            let v = ({
                racecheck::__rt::read(
                    &raw const *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "other_place"),
                            file: "/src/lib.rs",
                            line: 47u32,
                            col: 17u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                *p
            });
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &*q;
                }
                racecheck::__rt::write_place(
                    &raw mut *q,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "other_place"),
                            file: "/src/lib.rs",
                            line: 48u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = v;
        }
    }
}
