mod duration;
mod signals;
mod supervisor;
fn main() {}
