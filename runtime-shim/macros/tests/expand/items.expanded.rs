mod counter {
    pub struct Counter(pub *mut u64);
    impl Counter {
        #[allow(unused_braces)]
        pub fn bump(&self) {
            let __racecheck_frame = racecheck::__rt::enter({
                static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                    name: concat!(module_path!(), "::", "Counter::bump"),
                };
                &__RACECHECK_FN
            });
            {
                let add = |n: u64| {
                    let __racecheck_frame = racecheck::__rt::enter({
                        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                            name: concat!(
                                module_path!(), "::", "Counter::bump::{{closure}}"
                            ),
                        };
                        &__RACECHECK_FN
                    });
                    unsafe {
                        *{
                            if false {
                                #[allow(static_mut_refs)]
                                let _ = &*self.0;
                            }
                            racecheck::__rt::update_place(
                                &raw mut *self.0,
                                {
                                    static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                        func: concat!(
                                            module_path!(), "::", "Counter::bump::{{closure}}"
                                        ),
                                        file: "/src/lib.rs",
                                        line: 7u32,
                                        col: 41u32,
                                    };
                                    &__RACECHECK_SITE
                                },
                            )
                        } += n
                    }
                };
                add(1);
            }
        }
    }
    impl Drop for Counter {
        #[allow(unused_braces)]
        fn drop(&mut self) {
            let __racecheck_frame = racecheck::__rt::enter({
                static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                    name: concat!("<", module_path!(), "::", "Counter as Drop>::drop"),
                };
                &__RACECHECK_FN
            });
            {
                unsafe {
                    *{
                        if false {
                            #[allow(static_mut_refs)]
                            let _ = &*self.0;
                        }
                        racecheck::__rt::write_place(
                            &raw mut *self.0,
                            {
                                static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                    func: concat!(
                                        "<", module_path!(), "::", "Counter as Drop>::drop"
                                    ),
                                    file: "/src/lib.rs",
                                    line: 13u32,
                                    col: 22u32,
                                };
                                &__RACECHECK_SITE
                            },
                        )
                    } = 0
                }
            }
        }
    }
    #[race_check(skip)]
    pub fn unchecked(p: *mut u64) {
        unsafe { *p = 1 }
    }
    pub async fn later(p: *mut u64) {
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
                            func: concat!(module_path!(), "::", "later"),
                            file: "/src/lib.rs",
                            line: 21u32,
                            col: 18u32,
                        };
                        &__RACECHECK_SITE
                    },
                )
            } = 2
        }
    }
}
