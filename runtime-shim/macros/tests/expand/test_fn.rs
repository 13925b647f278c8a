// A test function gets a test frame (`enter_test`): a race found during the
// test fails it when the test returns. Other functions get a plain frame;
// an async test gets no frame but a guard that fails it when its body
// completes.
mod tests {
    fn helper(p: *mut u64) {
        unsafe { *p += 1 }
    }

    #[test]
    fn bumps() {
        let mut x = 0u64;
        helper(&mut x);
    }

    #[tokio::test]
    async fn in_a_runtime() {}
}
