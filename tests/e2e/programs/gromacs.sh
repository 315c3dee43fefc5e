# Run by tests/e2e/run (gromacs.e2e): GROMACS' mdrun, two OpenMP threads,
# simulates a box of 348 SPC/E waters for 5000 steps. Once it has logged
# its first energies the script says so (the driver checkpoints then, in
# the middle of the run); at the end it prints the energies of every
# hundredth step from mdrun's log (the rest of the log holds timings).
set -e
cat >topol.top <<'TOP'
#include "oplsaa.ff/forcefield.itp"
#include "oplsaa.ff/spce.itp"
[ system ]
water
[ molecules ]
TOP
# -reprod and fixed seeds: the same run gives the same energies, bit for bit.
cat >md.mdp <<'MDP'
integrator = md
dt = 0.002
nsteps = 5000
nstcalcenergy = 100
nstenergy = 100
nstlog = 100
cutoff-scheme = Verlet
coulombtype = PME
rcoulomb = 0.9
rvdw = 0.9
tcoupl = v-rescale
tc-grps = System
tau_t = 0.1
ref_t = 300
gen_vel = yes
gen_temp = 300
gen_seed = 1234
ld-seed = 42
constraints = h-bonds
MDP
gmx -quiet solvate -cs spc216.gro -box 2.2 2.2 2.2 -o water.gro -p topol.top >setup.log 2>&1
gmx -quiet grompp -f md.mdp -c water.gro -p topol.top -o md.tpr >>setup.log 2>&1
gmx -quiet mdrun -s md.tpr -ntmpi 1 -ntomp 2 -reprod -deffnm md >mdrun.out 2>&1 &
mdrun=$!
until grep -qs '   Energies' md.log; do sleep 0.1; done
echo "mdrun is past its first energies"
wait $mdrun
awk '/   Energies/ { getline; getline; print }' md.log
