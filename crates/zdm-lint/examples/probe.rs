fn main() {
    let text = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let parse = squawk_syntax::ast::SourceFile::parse(&text);
    println!("{:#?}", parse.syntax_node());
    for e in parse.errors() { println!("ERR {:?}", e); }
}
