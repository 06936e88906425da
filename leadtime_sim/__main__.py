from leadtime_sim.cli import main

main(prog_name="leadtime-sim")
