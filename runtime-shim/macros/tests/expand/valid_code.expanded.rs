impl Slots {
    const EMPTY: Slot = Slot(UnsafeCell::new(None));
    #[allow(unused_braces)]
    pub fn new() -> Slots {
        let __racecheck_frame = racecheck::__rt::enter({
            static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
                name: concat!(module_path!(), "::", "Slots::new"),
            };
            &__RACECHECK_FN
        });
        { Slots { slots: [Self::EMPTY; 4] } }
    }
}
#[allow(unused_braces)]
pub fn header_len(h: *const Header) -> u32 {
    let __racecheck_frame = racecheck::__rt::enter({
        static __RACECHECK_FN: racecheck::__rt::FnInfo = racecheck::__rt::FnInfo {
            name: concat!(module_path!(), "::", "header_len"),
        };
        &__RACECHECK_FN
    });
    {
        unsafe {
            ({
                racecheck::__rt::read(
                    &raw const (*h).len,
                    {
                        static __RACECHECK_SITE: racecheck::__rt::Site = racecheck::__rt::Site {
                            func: concat!(module_path!(), "::", "header_len"),
                            file: "/src/lib.rs",
                            line: 8u32,
                            col: 14u32,
                        };
                        &__RACECHECK_SITE
                    },
                );
                (*h).len
            })
        }
    }
}
