from microexp.cli import main

main()
