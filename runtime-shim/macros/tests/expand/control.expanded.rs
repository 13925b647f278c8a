#[allow(unused_braces)]
fn control(p: *const Option<u64>, q: *mut u64) -> Option<u64> {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "control"),
        };
        &__RACECHECK_FN
    });
    {
        let Some(first) = (unsafe {
            ({
                racecheck::__rt::read(
                    &raw const *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "control"),
                            file: "/src/lib.rs",
                            line: 3u32,
                            col: 33u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                *p
            })
        }) else { return None };
        'scan: while let Some(v) = unsafe {
            ({
                racecheck::__rt::read(
                    &raw const *p,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "control"),
                            file: "/src/lib.rs",
                            line: 4u32,
                            col: 41u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                *p
            })
        } {
            if v > first {
                break 'scan;
            }
            unsafe {
                *{
                    if false {
                        #[allow(static_mut_refs)]
                        let _ = &*q;
                    }
                    racecheck::__rt::update_place(
                        &raw mut *q,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "control"),
                                file: "/src/lib.rs",
                                line: 8u32,
                                col: 18u32,
                            };
                            &__RACECHECK_SITE
                        },
                    )
                } += v
            };
            break;
        }
        match unsafe {
            ({
                racecheck::__rt::read(
                    &raw const *q,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "control"),
                            file: "/src/lib.rs",
                            line: 11u32,
                            col: 20u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                *q
            })
        } {
            0 => None,
            n => {
                assert_eq!(
                    unsafe { ({ racecheck::__rt::read(& raw const * q, { static
                    __RACECHECK_SITE : racecheck::__rt::Site = racecheck::__rt::Site {
                    func : concat!(module_path!(), "::", "control"), file :
                    "/src/lib.rs", line : 14u32, col : 33u32, }; & __RACECHECK_SITE }); *
                    q }) }, n
                );
                println!(
                    "{}", unsafe { ({ racecheck::__rt::read(& raw const * q, { static
                    __RACECHECK_SITE : racecheck::__rt::Site = racecheck::__rt::Site {
                    func : concat!(module_path!(), "::", "control"), file :
                    "/src/lib.rs", line : 15u32, col : 37u32, }; & __RACECHECK_SITE }); *
                    q }) }
                );
                Some(n)
            }
        }
    }
}
