from stancetrack.cli import main

main()
