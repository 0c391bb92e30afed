fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut opts = zdm_lint::Options::postgres(15);
    opts.enable.push("all".into());
    let mut schema = zdm_lint::new_schema(&opts);
    let f = zdm_lint::lint_file(&path, &text, &opts, &mut schema).unwrap();
    let mut m = std::collections::HashMap::new();
    m.insert(path.clone(), text);
    print!("{}", zdm_lint::output::human(&f, &m));
}
