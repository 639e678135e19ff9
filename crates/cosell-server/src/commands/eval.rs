//! `cosell eval recommendations --data FILE`: leave-one-out hit rates of the co-purchase
//! model against the most-popular-items baseline.

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use cosell_reco::{BasketFormat, MinSupport, ModelBuilder, evaluate_leave_one_out, read_baskets};

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Hide one item of every fifth basket, recommend from the rest with a model mined
    /// from the other baskets, and count hits in the top k.
    Recommendations {
        /// Baskets: item names separated by commas, or a `.dat` file of integer ids.
        #[arg(long)]
        data: PathBuf,
        /// Baskets an item or pair must appear in (at least 1).
        #[arg(long, default_value = "10")]
        min_support: MinSupport,
        /// Recommendations per basket, 1 or more.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
        k: u32,
    },
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    let EvalCommand::Recommendations {
        data,
        min_support,
        k,
    } = command;
    let file =
        std::fs::File::open(&data).with_context(|| format!("cannot open {}", data.display()))?;
    let mut builder = ModelBuilder::new();
    read_baskets(
        BufReader::new(file),
        BasketFormat::from_path(&data),
        |items| builder.add_basket(items),
    )
    .with_context(|| format!("cannot read baskets from {}", data.display()))?;
    let r = evaluate_leave_one_out(&builder, min_support, usize::try_from(k)?);
    // Rates over no test basket would print as 0.00%, a result that was never measured.
    if r.test_baskets == 0 {
        anyhow::bail!(
            "nothing to evaluate in {}: {} train baskets and no test basket (every fifth \
             basket is a test basket, and it needs two or more items)",
            data.display(),
            r.train_baskets
        );
    }
    let points = (r.model_hit_rate - r.baseline_hit_rate) * 100.0;
    println!("data            {}", data.display());
    println!(
        "baskets         {} train, {} test (min support {min_support}, top {k})",
        r.train_baskets, r.test_baskets
    );
    println!(
        "co-purchase     {:.2}% ({} hits)",
        r.model_hit_rate * 100.0,
        r.model_hits
    );
    println!(
        "most popular    {:.2}% ({} hits)",
        r.baseline_hit_rate * 100.0,
        r.baseline_hits
    );
    println!("margin          {points:+.2} points");
    Ok(())
}
