mod tests {
    #[allow(unused_braces)]
    fn helper(p: *mut u64) {
        let __racecheck_frame = racecheck::__rt::enter({
            static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                name: concat!(module_path!(), "::", "helper"),
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
                    racecheck::__rt::update_place(
                        &raw mut *p,
                        {
                            static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                                func: concat!(module_path!(), "::", "helper"),
                                file: "/src/lib.rs",
                                line: 7u32,
                                col: 18u32,
                            };
                            &__RACECHECK_SITE
                        },
                    )
                } += 1
            }
        }
    }
    #[test]
    #[allow(unused_braces)]
    fn bumps() {
        let __racecheck_frame = racecheck::__rt::enter_test({
            static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                name: concat!(module_path!(), "::", "bumps"),
            };
            &__RACECHECK_FN
        });
        {
            let mut x = 0u64;
            helper(&mut x);
        }
    }
    #[tokio::test]
    #[allow(unused_braces)]
    async fn in_a_runtime() {
        let __racecheck_test_end = racecheck::__rt::test_end();
        {}
    }
}
