fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap_or_default()).unwrap_or_default();
    let t = std::time::Instant::now();
    let parse = squawk_syntax::ast::SourceFile::parse(&text);
    let n = parse.syntax_node().children().count();
    eprintln!("parse {n} stmts: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let e = parse.errors().len();
    eprintln!("errors {e}: {:?}", t.elapsed());
}
