"""Compiler flags shared by every fauna target."""

# Warnings are errors in project code; outside headers come in through -isystem and stay quiet.
FAUNA_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wnon-virtual-dtor",
    "-Wshadow=local",
    "-Wno-unused-parameter",
    "-Werror",
]
