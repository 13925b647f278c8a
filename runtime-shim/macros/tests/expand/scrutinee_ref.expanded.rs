impl S {
    #[allow(unused_braces)]
    fn name_len(&self) -> usize {
        let __racecheck_frame = racecheck::__rt::enter({
            static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                name: concat!(module_path!(), "::", "S::name_len"),
            };
            &__RACECHECK_FN
        });
        {
            {
                let _ = racecheck::__rt::read_place(
                    &raw const self.name,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "S::name_len"),
                            file: "/src/lib.rs",
                            line: 4u32,
                            col: 15u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                match self.name {
                    Some(ref s) => s.len(),
                    None => 0,
                }
            }
        }
    }
    #[allow(unused_braces)]
    fn bump(p: *mut (u64, u64)) {
        let __racecheck_frame = racecheck::__rt::enter({
            static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                name: concat!(module_path!(), "::", "S::bump"),
            };
            &__RACECHECK_FN
        });
        {
            unsafe {
                let (ref mut first, _) = *p;
                *{
                    if false {
                        #[allow(static_mut_refs)]
                        let _ = &*first;
                    }
                    racecheck::__rt::update_place(
                        &raw mut *first,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "S::bump"),
                                file: "/src/lib.rs",
                                line: 12u32,
                                col: 13u32,
                            };
                            &__RACECHECK_SITE
                        },
                    )
                } += 1;
            }
            if let Some(ref mut n) = unsafe { (*p).1.checked_add(0) } {
                *{
                    if false {
                        #[allow(static_mut_refs)]
                        let _ = &*n;
                    }
                    racecheck::__rt::update_place(
                        &raw mut *n,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "S::bump"),
                                file: "/src/lib.rs",
                                line: 15u32,
                                col: 13u32,
                            };
                            &__RACECHECK_SITE
                        },
                    )
                } += 1;
            }
        }
    }
}
