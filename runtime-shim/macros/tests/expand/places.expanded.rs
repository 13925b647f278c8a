#[allow(unused_braces)]
fn places(p: *mut Outer, s: &mut [u64], i: usize) -> u64 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "places"),
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
                    &raw mut (*p).a,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 4u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = 1;
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &(*p).inner.items[i];
                }
                racecheck::__rt::update_place(
                    &raw mut (*p).inner.items[i].c,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 5u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } += 2;
            let v = ({
                racecheck::__rt::read(
                    &raw const (*p).b,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 6u32,
                            col: 17u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                (*p).b
            });
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &s[i];
                }
                racecheck::__rt::write_place(
                    &raw mut s[i],
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 7u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = v;
            *{
                if false {
                    #[allow(static_mut_refs)]
                    let _ = &COUNTER;
                }
                racecheck::__rt::write_place(
                    &raw mut COUNTER,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 8u32,
                            col: 9u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = ({
                #[allow(static_mut_refs)]
                let _ = racecheck::__rt::read_val(
                    &COUNTER,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "places"),
                            file: "/src/lib.rs",
                            line: 8u32,
                            col: 19u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                COUNTER
            }) + 1;
            (match (Outer::default()) {
                __racecheck_value => {
                    match (p.add(1),) {
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
                                            func: concat!(module_path!(), "::", "places"),
                                            file: "/src/lib.rs",
                                            line: 9u32,
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
            v
                + ({
                    racecheck::__rt::read(
                        &raw const s[0],
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "places"),
                                file: "/src/lib.rs",
                                line: 10u32,
                                col: 13u32,
                            };
                            &__RACECHECK_SITE
                        },
                    );
                    s[0]
                })
        }
    }
}
